/**
 * Issue 16 item 1: a carved key is a lead, not a verified signing key, until something else in the scan uses it (a
 * key file, certificate or signature with its fingerprint). Real scans of firmware-like blobs with RSA-1024 keys
 * written into them, one of which also has its key file beside it.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactResult, ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { LEAD_MAX_SCORE } from '../../src/scoring/exposure.js';
import { NOW } from './helpers.js';

let dir = '';
let result: ScanResult;
const at = (name: string): ArtifactResult => result.artifacts.find((a) => a.uri === pathToFileURL(join(dir, 'firmware', name)).href)!;

/** Random flash with an RSA-1024 key at 4096, as `u32 length ‖ modulus ‖ u32 exponent` (the length-prefixed layout). */
function flashWith(n: Buffer): Buffer {
  const img = randomBytes(16384);
  img.writeUInt32BE(n.length, 4096);
  n.copy(img, 4100);
  img.writeUInt32BE(65537, 4100 + n.length);
  return img;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shelflife-lead-'));
  mkdirSync(join(dir, 'firmware'));
  for (const name of ['a', 'b']) {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    writeFileSync(join(dir, 'firmware', `${name}.bin`), flashWith(Buffer.from(publicKey.export({ format: 'jwk' }).n!, 'base64url')));
    // Only a's key is also a file of its own: the keys detector parses it, so a's carved key is confirmed.
    if (name === 'a') writeFileSync(join(dir, 'firmware', 'a-signing.pub.pem'), publicKey.export({ format: 'pem', type: 'spki' }));
  }
  result = await scan({ targets: [dir], now: () => NOW, scoring: { now: NOW } });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('carved keys are leads until confirmed', () => {
  it('an RSA-1024 key carved from firmware that nothing else uses is a lead: low, and the explanation says why', () => {
    const [f] = at('b.bin').findings;
    expect(f).toMatchObject({ format: 'carve', kind: 'public-key', details: { carved: true, layout: 'length-prefixed' } });
    expect(f.algorithm.id).toBe('RSA-1024');
    // Confirmed, RSA-1024 (80-bit security) on firmware would be critical: < 112-bit security, 85.
    expect(f.exposure?.inputs).toMatchObject({ lead: true, scoreAsConfirmed: 85 });
    expect(f.exposure?.score).toBe(LEAD_MAX_SCORE);
    expect(f.exposure?.severity).toBe('low');
    expect(f.exposure?.explanation).toMatch(/^Carved from raw bytes at offset 4096 \(length-prefixed layout\): a lead, not a verified key/);
    expect(at('b.bin').exposure?.severity).toBe('low');
  });

  it('the same kind of key is scored in full once its key file is in the scan (same SubjectPublicKeyInfo fingerprint)', () => {
    const [f] = at('a.bin').findings;
    const [file] = at('a-signing.pub.pem').findings;
    expect(file.format).toBe('spki');
    expect(f.fingerprint).toBe(file.fingerprint);
    expect(f.details?.carved).toBe(true);
    expect(f.exposure?.inputs?.lead).toBeUndefined();
    expect(f.exposure?.score).toBe(85);
    expect(f.exposure?.severity).toBe('critical');
    expect(f.exposure?.explanation).not.toMatch(/lead/);
  });

  it('a lead never outranks a verified finding among the worst artifacts', () => {
    const worst = [...result.artifacts].sort((x, y) => (y.exposure?.score ?? 0) - (x.exposure?.score ?? 0));
    expect(worst.findIndex((a) => a === at('b.bin'))).toBeGreaterThan(worst.findIndex((a) => a === at('a-signing.pub.pem')));
  });
});
