/**
 * Hybrid signing keys for the resign tests, made by `shelflife keygen` itself (its progress lines kept off the test
 * output) and loaded as resign loads them.
 */
import { expect } from 'vitest';
import { runKeygen } from '../../src/cli/keygen-command.js';
import { loadSigningIdentity } from '../../src/resign/keyfiles.js';

/** The passphrase environment the tests' keys are made and read with. */
export const KEY_ENV = { SHELFLIFE_KEY_PASSPHRASE: 'test passphrase' };

/** `shelflife keygen --alg alg --out base`, quietly; the process's passphrase variable is left as it was. */
export function quietKeygen(base: string, alg = 'mldsa65-ecdsa-p256', env: Record<string, string> = KEY_ENV): void {
  const saved = process.env.SHELFLIFE_KEY_PASSPHRASE;
  const err = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    expect(runKeygen({ alg, out: base, days: '30' }, env)).toBe(0);
  } finally {
    process.stderr.write = err;
    if (saved === undefined) delete process.env.SHELFLIFE_KEY_PASSPHRASE;
    else process.env.SHELFLIFE_KEY_PASSPHRASE = saved;
  }
}

/** A key made at `base` and loaded: what resign signs with. */
export function signingIdentity(base: string, alg?: string, env: Record<string, string> = KEY_ENV): ReturnType<typeof loadSigningIdentity> {
  quietKeygen(base, alg, env);
  return loadSigningIdentity(base, env);
}
