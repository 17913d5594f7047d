/** Shared helpers for the resign tests: the draft's vectors, temp dirs, and the CLI run in-process or as a child. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');
/** draft-ietf-lamps-pq-composite-sigs test vectors, vendored in the repository (source and licence in the README there). */
export const VECTORS = join(REPO, 'test', 'vendor', 'composite-sigs', 'testvectors.json');

export interface VectorCase {
  tcId: string;
  pk: string;
  x5c: string;
  sk: string;
  sk_pkcs8: string;
  s: string;
  sWithContext: string;
}

export function loadVectors(): { m: Buffer; ctx: Buffer; tests: VectorCase[] } {
  const d = JSON.parse(readFileSync(VECTORS, 'utf8'));
  return { m: Buffer.from(d.m, 'base64'), ctx: Buffer.from(d.ctx, 'base64'), tests: d.tests };
}

export const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

export function tempDir(prefix = 'shelflife-resign-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Flip one bit of a copy. */
export function flip(bytes: Uint8Array, at: number): Uint8Array {
  const c = new Uint8Array(bytes);
  c[at] ^= 0x01;
  return c;
}

/** The CLI entry for child processes: `node --import tsx test/resign/_cli.ts <args>`. */
export const CLI_ENTRY = join(import.meta.dirname, '_cli.ts');
