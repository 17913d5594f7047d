/**
 * Registry credentials the way docker, podman and skopeo find them: `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json` — `auths.<host>.auth` (base64 `user:password`), `username`/`password`, `identitytoken` — and
 * credential helpers (`credHelpers.<host>`, else `credsStore`) run as `docker-credential-<name> get` with the server
 * on stdin (docker-credential-helpers protocol). A missing helper is not an error: the registry may be anonymous.
 * @module
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface RegistryCredential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (`identitytoken`, or a helper answering with Username `<token>`). */
  identityToken?: string;
  /** Where it came from, for messages (never the secret). */
  source: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

const MAX_CONFIG_BYTES = 1024 * 1024;
const HELPER_TIMEOUT_MS = 10_000;

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** Keys docker writes for one host: `host`, `https://host`, `http://host`, with or without a `/v1/`-style path. */
function keyMatches(key: string, host: string): boolean {
  const k = key
    .replace(/^https?:\/\//, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return k === host.toLowerCase();
}

export async function dockerCredentials(host: string, opts: { configPath?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RegistryCredential | undefined> {
  const path = opts.configPath ?? dockerConfigPath(opts.env);
  let config: DockerConfig;
  try {
    const text = await readFile(path, 'utf8');
    if (text.length > MAX_CONFIG_BYTES) return undefined;
    config = JSON.parse(text) as DockerConfig;
  } catch {
    return undefined; // no config, or unreadable: anonymous
  }
  const helper = Object.entries(config.credHelpers ?? {}).find(([k]) => keyMatches(k, host))?.[1];
  if (helper) return runHelper(helper, host);
  const entry = Object.entries(config.auths ?? {}).find(([k]) => keyMatches(k, host))?.[1];
  if (entry) {
    if (entry.identitytoken) return { identityToken: entry.identitytoken, source: path };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) return { username: decoded.slice(0, i), password: decoded.slice(i + 1), source: path };
    }
    if (entry.username && entry.password !== undefined) return { username: entry.username, password: entry.password, source: path };
  }
  if (config.credsStore) return runHelper(config.credsStore, host);
  return undefined;
}

/** `docker-credential-<name> get`: stdin the server URL, stdout `{"ServerURL","Username","Secret"}`. */
export function runHelper(name: string, host: string): Promise<RegistryCredential | undefined> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) return Promise.resolve(undefined);
  const program = `docker-credential-${name}`;
  return new Promise((resolve) => {
    const child = execFile(program, ['get'], { timeout: HELPER_TIMEOUT_MS, maxBuffer: 64 * 1024 }, (err, stdout) => {
      // Not installed, "credentials not found", or a crash: fall back to anonymous access.
      if (err) return resolve(undefined);
      try {
        const j = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (typeof j.Secret !== 'string') return resolve(undefined);
        if (j.Username === '<token>') return resolve({ identityToken: j.Secret, source: program });
        resolve({ username: j.Username ?? '', password: j.Secret, source: program });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(host);
  });
}
