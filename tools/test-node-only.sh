#!/usr/bin/env bash
# Run `npm test` as on a machine that has nothing but Node 20: PATH holds only node/npm/npx and a minimal shell with
# coreutils (no openssl, gpg, sq, python3, docker-registry, postgres, rsyslogd, gcab, chromium …), CI unset. Tests that
# need an outside program must be left out with a loud "NOT RUN" line, and the run must pass.
# On Linux as root, programs found outside PATH by fixed location (PostgreSQL under /usr/lib/postgresql) are hidden
# too, in a private mount namespace. Extra arguments go to vitest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d "${TMPDIR:-/tmp}/shelflife-node-only.XXXXXX")
trap 'rm -rf "$bin"' EXIT
for t in node npm npx bash sh env ls cat mkdir rm cp mv ln chmod touch head tail tr cut sort uniq wc date dirname basename \
  readlink realpath mktemp sleep true false test echo printf grep sed id uname; do
  p=$(command -v "$t" 2>/dev/null || true)
  case "$p" in /*) ln -s "$p" "$bin/$t" ;; esac
done
run=(env -u CI -u GITHUB_ACTIONS PATH="$bin" npm test -- "$@")
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && [ -d /usr/lib/postgresql ]; then
  exec unshare -m sh -c 'mount -t tmpfs none /usr/lib/postgresql && exec "$@"' sh "${run[@]}"
fi
exec "${run[@]}"
