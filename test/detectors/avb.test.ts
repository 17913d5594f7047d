/**
 * Android Verified Boot: a vbmeta image laid out per libavb and signed with openssl (SHA256_RSA4096, with a hash
 * descriptor and a chain-partition descriptor holding an RSA-2048 key), the same vbmeta behind an AVBf footer, and
 * hostile headers.
 */
import { createPublicKey, createVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { avbDetector } from '../../src/detectors/avb.js';
import { claims, runDetectors } from '../../src/detectors/index.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const read = (f: string) => new Uint8Array(readFileSync(join(FIXTURES, 'firmware', f)));
const detect = (name: string, b: Uint8Array) => runDetectors(b, ctxFor(name, b), { only: new Set(['avb']) });

describe('avb', () => {
  it('claims vbmeta by magic and partition images by name', () => {
    expect(claims(avbDetector, read('vbmeta.img'), { name: 'x', baseOffset: 0 })).toBe(true);
    expect(claims(avbDetector, new Uint8Array(8), { name: 'boot_a.img', baseOffset: 0 })).toBe(true);
    expect(claims(avbDetector, new Uint8Array(8), { name: 'x.bin', baseOffset: 0 })).toBe(false);
  });

  it('vbmeta: algorithm_type, embedded key, chained partition key, descriptors', () => {
    const r = detect('vbmeta.img', read('vbmeta.img'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['public-key avb RSA-2048', 'public-key avb RSA-4096', 'signature avb RSA-4096/SHA-256']);
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.details).toMatchObject({ algorithmType: 'SHA256_RSA4096', signatureSize: 512 });
    expect(r.findings.find((f) => f.details?.partition)?.details).toMatchObject({ partition: 'vbmeta_system', role: 'chained partition key' });
    expect(r.annotations).toMatchObject({ 'avb.signed': 'true', 'avb.hashes': 'boot:sha256', 'avb.release': 'avbtool-compatible shelflife 1.0' });
  });

  it('the fixture is a real signature: the embedded key verifies header + aux block', () => {
    // Independent check of the layout the detector reads: rebuild the key from AvbRSAPublicKeyHeader and verify.
    const b = Buffer.from(read('vbmeta.img'));
    const auth = Number(b.readBigUInt64BE(12));
    const aux = Number(b.readBigUInt64BE(20));
    const sigOff = Number(b.readBigUInt64BE(48));
    const sigSize = Number(b.readBigUInt64BE(56));
    const keyOff = Number(b.readBigUInt64BE(64));
    const auxAt = 256 + auth;
    const bits = b.readUInt32BE(auxAt + keyOff);
    const n = b.subarray(auxAt + keyOff + 8, auxAt + keyOff + 8 + bits / 8);
    const key = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' }, format: 'jwk' });
    const ok = createVerify('sha256')
      .update(Buffer.concat([b.subarray(0, 256), b.subarray(auxAt, auxAt + aux)]))
      .verify(key, b.subarray(256 + sigOff, 256 + sigOff + sigSize));
    expect(ok).toBe(true);
  });

  it('AVBf footer at the end of a partition image points at the vbmeta', () => {
    const r = detect('boot_a.img', read('boot-with-footer.img'));
    expect(r.errors).toEqual([]);
    expect(r.findings.find((f) => f.kind === 'signature')!.location.offset).toBe(4096);
    expect(r.annotations['avb.footer']).toMatch(/vbmeta_offset=4096/);
  });

  it('negative: an image without vbmeta or footer yields nothing', () => {
    expect(detect('boot.img', new Uint8Array(8192))).toMatchObject({ findings: [], errors: [] });
  });

  it('malformed: truncated header, offsets outside blocks, unknown algorithm, footer past the end', () => {
    const v = read('vbmeta.img');
    expect(detect('t.img', v.subarray(0, 100)).errors[0]).toMatchObject({ code: 'truncated', source: 'avb' });
    const outside = v.slice();
    new DataView(outside.buffer).setBigUint64(48, 5000n);
    expect(detect('o.img', outside).errors[0].message).toMatch(/^vbmeta offsets fall outside their blocks/);
    const alg = v.slice();
    new DataView(alg.buffer).setUint32(28, 99);
    expect(detect('a.img', alg).errors[0]).toMatchObject({ code: 'unsupported' });
    const huge = v.slice();
    new DataView(huge.buffer).setBigUint64(20, 1n << 60n);
    expect(detect('h.img', huge).errors[0].code).toBe('malformed');
    const f = read('boot-with-footer.img').slice();
    new DataView(f.buffer).setBigUint64(f.length - 64 + 20, 1n << 40n);
    expect(detect('boot.img', f).errors[0].message).toMatch(/AVBf footer points at vbmeta/);
  });
});
