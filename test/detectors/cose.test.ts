/**
 * The COSE detector (src/detectors/cose.ts) and its bounded CBOR reader (src/detectors/_cbor.ts) on envelopes built
 * here: every size rule (x5chain leaf, RSA signature length, EdDSA length, fully specified ids), COSE_Sign with
 * several signers, and malformed input (truncated, indefinite lengths, duplicate labels, deep nesting, wrong types).
 * Real Notary Project envelopes are in notary.test.ts.
 */
import { generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCbor, isCborBytes, isCborTag } from '../../src/formats/cbor.js';
import { claims } from '../../src/detectors/index.js';
import { coseDetector, detectCose } from '../../src/detectors/cose.js';
import { ParseError } from '../../src/errors.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

// ───────────── a minimal CBOR encoder for the tests (RFC 8949 §3, definite lengths) ─────────────
type V = number | string | Uint8Array | V[] | Map<number | string, V> | { tag: number; value: V } | null;
function head(major: number, n: number): number[] {
  if (n < 24) return [(major << 5) | n];
  if (n < 0x100) return [(major << 5) | 24, n];
  if (n < 0x10000) return [(major << 5) | 25, n >> 8, n & 0xff];
  return [(major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}
function cbor(v: V): Buffer {
  if (v === null) return Buffer.from([0xf6]);
  if (typeof v === 'number') return Buffer.from(v >= 0 ? head(0, v) : head(1, -1 - v));
  if (typeof v === 'string') return Buffer.concat([Buffer.from(head(3, Buffer.byteLength(v))), Buffer.from(v)]);
  if (v instanceof Uint8Array) return Buffer.concat([Buffer.from(head(2, v.length)), v]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from(head(4, v.length)), ...v.map(cbor)]);
  if (v instanceof Map) return Buffer.concat([Buffer.from(head(5, v.size)), ...[...v].flatMap(([k, x]) => [cbor(k), cbor(x)])]);
  return Buffer.concat([Buffer.from(head(6, v.tag)), cbor(v.value)]);
}
const sign1 = (prot: Map<number | string, V>, unprot: Map<number | string, V>, sig: Uint8Array) =>
  cbor({ tag: 18, value: [prot.size ? cbor(prot) : new Uint8Array(0), unprot, cbor('payload'), sig] });

const cose = (bytes: Uint8Array, name = 'signature.cose') => {
  const r = detectCose(bytes, ctxFor(name, bytes));
  return { findings: r.findings, errors: r.errors ?? [] };
};
const rsaCert = () => new Uint8Array(new X509Certificate(readFileSync(join(FIXTURES, 'pki', 'certs', 'rsa3072.crt'))).raw);

describe('CBOR reader', () => {
  it('decodes integers, negatives, strings, arrays, maps, tags and simple values, with byte-string offsets', () => {
    const bytes = cbor(
      new Map<number | string, V>([
        [1, -37],
        ['t', 'é'],
        [33, [new Uint8Array([1, 2, 3])]],
        [4, { tag: 1, value: 1718692031 }],
        [5, null],
      ]),
    );
    const { value, end } = decodeCbor(bytes);
    expect(end).toBe(bytes.length);
    const m = value as Map<number | string, unknown>;
    expect(m.get(1)).toBe(-37);
    expect(m.get('t')).toBe('é');
    const [b] = m.get(33) as unknown[];
    expect(isCborBytes(b as never) && [...(b as { bytes: Uint8Array }).bytes]).toEqual([1, 2, 3]);
    expect(bytes[(b as { start: number }).start]).toBe(1);
    expect(isCborTag(m.get(4) as never)).toBe(true);
    expect(m.get(5)).toBeNull();
    expect(decodeCbor(Uint8Array.from([0xf9, 0x3c, 0x00])).value).toBe(1); // half float 1.0 (RFC 8949 Appendix A)
    expect(decodeCbor(Uint8Array.from([0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).value).toBe(-18446744073709551616n);
  });

  it('refuses what it cannot read safely: truncation, lengths past the end, indefinite lengths, duplicate keys, depth', () => {
    const code = (b: number[] | Uint8Array) => {
      try {
        decodeCbor(Uint8Array.from(b));
        return 'ok';
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        return e.code;
      }
    };
    expect(code([0x59, 0x10])).toBe('truncated');
    expect(code([0x5a, 0xff, 0xff, 0xff, 0xff])).toBe('truncated'); // a 4 GiB byte string in 5 bytes
    expect(code([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).toBe('truncated');
    expect(code([0x5f, 0x41, 0x00, 0xff])).toBe('unsupported');
    expect(code([0xa2, 0x01, 0x01, 0x01, 0x02])).toBe('malformed');
    expect(code(new Uint8Array(200).fill(0x81))).toBe('malformed'); // arrays nested 200 deep
    expect(code([0x1c])).toBe('malformed');
  });
});

describe('cose detector', () => {
  it('claims tagged COSE_Sign1 and COSE_Sign by magic, and .cose files by name', () => {
    const c = (name: string, b: number[]) => claims(coseDetector, Uint8Array.from(b), { name, baseOffset: 0 });
    expect(c('blob', [0xd2, 0x84, 0x40])).toBe(true);
    expect(c('blob', [0xd8, 0x62, 0x84])).toBe(true);
    expect(c('x.cose', [0x00])).toBe(true);
    expect(c('blob', [0x84, 0x40])).toBe(false);
  });

  it('sizes an RSA signature by the x5chain leaf, reports the chain at its offset and names the signer', () => {
    const der = rsaCert();
    const bytes = sign1(new Map([[1, -37]]), new Map<number | string, V>([[33, [der]]]), new Uint8Array(384));
    const { findings, errors } = cose(bytes);
    expect(errors).toEqual([]);
    expect(summary(findings)).toEqual(['certificate cose RSA-3072/SHA-384', 'signature cose RSA-3072/SHA-256']);
    const cert = findings.find((f) => f.kind === 'certificate')!;
    expect(Buffer.from(bytes.subarray(cert.location.offset!, cert.location.offset! + der.length)).equals(Buffer.from(der))).toBe(true);
    expect(findings.find((f) => f.kind === 'signature')!.details).toMatchObject({
      parameterFrom: 'certificate',
      signerCertificate: cert.fingerprint,
      keyFrom: 'x5chain',
    });
    // A single certificate as a bare byte string is an x5chain too (RFC 9360 §2).
    expect(summary(cose(sign1(new Map([[1, -37]]), new Map<number | string, V>([[33, der]]), new Uint8Array(384))).findings)).toHaveLength(2);
  });

  it('sizes RSA from the signature length without a certificate, EdDSA by its length, and keeps ECDSA ids', () => {
    const ps = cose(sign1(new Map([[1, -37]]), new Map(), new Uint8Array(256))).findings[0];
    expect([ps.algorithm.id, ps.details?.parameterFrom]).toEqual(['RSA-2048', 'signature-length']);
    const rs = cose(sign1(new Map([[1, -257]]), new Map(), new Uint8Array(10))).findings[0];
    expect([rs.algorithm.id, rs.algorithm.parameterKnown]).toEqual(['RSA', false]);
    const { privateKey } = generateKeyPairSync('ed25519');
    const ed = cose(sign1(new Map([[1, -8]]), new Map(), sign(null, Buffer.from('x'), privateKey))).findings[0];
    expect(ed.algorithm.id).toBe('Ed25519');
    const es = cose(sign1(new Map([[1, -35]]), new Map([[4, new Uint8Array([0xab])]]), new Uint8Array(96))).findings[0];
    expect([es.algorithm.id, es.algorithm.hash, es.details?.kid]).toEqual(['ECDSA-P384', 'SHA-384', 'ab']);
    const unknown = cose(sign1(new Map([[1, -65535]]), new Map(), new Uint8Array(8))).findings[0];
    expect(unknown.algorithm.id).toBe('unknown');
  });

  it('reads every signer of a COSE_Sign', () => {
    const signer = (alg: number, n: number) => [cbor(new Map([[1, alg]])), new Map(), new Uint8Array(n)] as V;
    const bytes = cbor({ tag: 98, value: [new Uint8Array(0), new Map(), cbor('p'), [signer(-7, 64), signer(-49, 3309)]] });
    expect(summary(cose(bytes).findings)).toEqual(['signature cose ECDSA-P256/SHA-256', 'signature cose ML-DSA-65']);
    expect(cose(bytes).findings.map((f) => f.location.path)).toEqual(['signatures[0]', 'signatures[1]']);
  });

  it('negative and malformed: not COSE, wrong lengths, wrong types, no alg, a broken timestamp', () => {
    const err = (b: Uint8Array) => {
      try {
        return cose(b).errors.map((e) => e.code);
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        return [`throws ${e.code}`];
      }
    };
    expect(err(cbor([1, 2, 3, 4]))).toEqual(['throws malformed']);
    expect(err(sign1(new Map([[1, -7]]), new Map(), new Uint8Array(63)))).toEqual(['throws malformed']);
    expect(err(sign1(new Map([[3, 'x']]), new Map(), new Uint8Array(64)))).toEqual(['throws malformed']);
    expect(err(sign1(new Map([[1, -37]]), new Map<number | string, V>([[33, [new Uint8Array([0x30, 0x03, 1, 2, 3])]]]), new Uint8Array(256)))).toEqual([
      'truncated',
    ]);
    const ts = sign1(
      new Map([[1, -7]]),
      new Map<number | string, V>([['io.cncf.notary.timestampSignature', new Uint8Array([0x30, 0x80])]]),
      new Uint8Array(64),
    );
    expect(err(ts)).toEqual(['truncated']);
    expect(err(sign1(new Map([[1, -7]]), new Map(), new Uint8Array(64)).subarray(0, 20))).toEqual(['throws truncated']);
    // Bytes that only start like COSE (the magic claim) are not an error unless the name says COSE.
    const lookalike = Uint8Array.from([0xd2, 0x84, 0xff, 0x00, 0x13, 0x37]);
    expect(detectAll('firmware.bin', lookalike).errors.filter((e) => e.source === 'cose')).toEqual([]);
    expect(detectAll('firmware.bin', cbor({ tag: 18, value: [1, 2] })).errors.filter((e) => e.source === 'cose')).toEqual([]);
    expect(detectAll('signature.cose', lookalike).errors.map((e) => [e.source, e.code])).toEqual([['cose', 'malformed']]);
    // Through the registry: the error is recorded on the artifact with the detector as its source, the scan goes on.
    const r = detectAll('x.cose', Uint8Array.from([0xd2, 0x84, 0x5f, 0x41, 0x00, 0xff]));
    expect(r.errors.map((e) => [e.source, e.code])).toEqual([['cose', 'unsupported']]);
  });
});
