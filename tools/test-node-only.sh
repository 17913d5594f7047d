#!/usr/bin/env bash
# Run `npm test` as on a machine that has nothing but Node 20: PATH holds only node/npm/npx and a minimal shell with
# GNU coreutils (no openssl, gpg, sq, python3, docker-registry, postgres, rsyslogd, gcab, chromium …), CI unset. Tests that
# need an outside program must be left out with a loud "NOT RUN" line, and the run must pass.
# On Linux as root, programs found outside PATH by fixed location (PostgreSQL under /usr/lib/postgresql) are hidden
# too, in a private mount namespace. Extra arguments go to vitest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d "${TMPDIR:-/tmp}/shelflife-node-only.XXXXXX")
trap 'rm -rf "$bin"' EXIT
# node/npm/npx, a shell, grep/sed, and GNU coreutils (every program of Debian's coreutils package).
for t in node npm npx bash sh grep sed \
  '[' arch b2sum base32 base64 basename basenc cat chgrp chmod chown cksum comm cp csplit cut date dd df dir dircolors \
  dirname du echo env expand expr factor false fmt fold groups head hostid id install join link ln logname ls md5sum \
  mkdir mkfifo mknod mktemp mv nice nl nohup nproc numfmt od paste pathchk pinky pr printenv printf ptx pwd readlink \
  realpath rm rmdir seq sha1sum sha224sum sha256sum sha384sum sha512sum shred shuf sleep sort split stat stdbuf stty sum \
  sync tac tail tee test timeout touch tr true truncate tsort tty uname unexpand uniq unlink users vdir wc who whoami yes; do
  p=$(type -P "$t" 2>/dev/null || true)
  case "$p" in /*) ln -s "$p" "$bin/$t" ;; esac
done
run=(env -u CI -u GITHUB_ACTIONS PATH="$bin" npm test -- "$@")
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && [ -d /usr/lib/postgresql ]; then
  exec unshare -m sh -c 'mount -t tmpfs none /usr/lib/postgresql && exec "$@"' sh "${run[@]}"
fi
exec "${run[@]}"
