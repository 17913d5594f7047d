/**
 * COSE signatures (RFC 9052): COSE_Sign1 (tag 18) and COSE_Sign (tag 98), as the Notary Project signs OCI artifacts
 * with them (notaryproject/specifications, signature-envelope-cose.md: `application/cose`). Per signature: the
 * algorithm of its `alg` header (the catalogue's `cose` table, RFC 9053 / RFC 9864), sized by the leaf of the
 * `x5chain` header (label 33, RFC 9360 §2) when present, else by the signature's length where that fixes it
 * (RSA: RFC 8017 §8.2.1; EdDSA: RFC 8032); every certificate of the chain; and the Notary Project's RFC 3161
 * countersignature (`io.cncf.notary.timestampSignature`, a TimeStampToken: CMS SignedData over TSTInfo, RFC 3161
 * §2.4.2) with the TSA's chain, read by the CMS walker. Certificates and tokens sit at their real offsets: a CBOR byte
 * string holds the DER verbatim.
 * @module
 */
import { catalogue, type CatalogueEntry, type Described } from '../catalogue/index.js';
import { rsaFromOctets, type ParameterFrom } from '../catalogue/infer.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { certificateFinding, parseCertificate, type ParsedCertificate } from '../pkix/certificate.js';
import { readNode } from '../pkix/der.js';
import { decodeCbor, isCborBytes, isCborTag, type CborKey, type CborValue } from '../formats/cbor.js';
import { parseCms } from './cms.js';
import type { Detector, DetectResult } from './types.js';

/** RFC 9052 §4.2 / §4.1 CBOR tags, and the header labels of §3.1 and RFC 9360 §2. */
const TAG_SIGN1 = 18;
const TAG_SIGN = 98;
const LABEL = { alg: 1, crit: 2, contentType: 3, kid: 4, x5chain: 33 } as const;
const NOTARY_TIMESTAMP = 'io.cncf.notary.timestampSignature';
const NOTARY_SCHEME = 'io.cncf.notary.signingScheme';

const COSE_NAME = /(^|\/)(signature\.cose|[^/]*\.cose)$/i;

/** Certificates read from one x5chain (a chain longer than this is not one anyone builds). */
const MAX_CHAIN = 16;

/** Signature lengths the fully specified algorithms fix (RFC 9053 §2.1: r||s; RFC 8032; FIPS 204 Table 2). */
const SIGNATURE_BYTES: Record<string, number> = {
  'ECDSA-P256': 64,
  'ECDSA-secp256k1': 64,
  'ECDSA-P384': 96,
  'ECDSA-P521': 132,
  Ed25519: 64,
  Ed448: 114,
  'ML-DSA-44': 2420,
  'ML-DSA-65': 3309,
  'ML-DSA-87': 4627,
};

export const coseDetector: Detector = {
  format: 'cose',
  description: 'COSE signatures (COSE_Sign1, COSE_Sign): Notary Project envelopes, their x5chain and RFC 3161 timestamp',
  claims: {
    // Tag 18 + a 4-element array (COSE_Sign1), tag 98 + a 4-element array (COSE_Sign), RFC 9052 §2.
    magic: [
      { offset: 0, bytes: [0xd2, 0x84] },
      { offset: 0, bytes: [0xd8, 0x62, 0x84] },
    ],
    names: ['*.cose', 'signature.cose'],
  },
  detect: detectCose,
};

type Headers = Map<CborKey, CborValue>;

class Out {
  readonly findings: Finding[] = [];
  readonly errors: ErrorEntry[] = [];
  fail(what: string, offset: number, e: unknown): void {
    rethrowUnlessParseError(e);
    this.errors.push({
      code: e.code === 'truncated' ? 'truncated' : e.code === 'unsupported' ? 'unsupported' : 'malformed',
      message: `${what}: ${e.message}`,
      offset,
    });
  }
}

export function detectCose(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  // A COSE object is read whole from its first byte: a window in the middle of one is nothing to it.
  if (ctx.baseOffset !== 0) return { findings: [] };
  // Two magic bytes are weak evidence (one file in 65,536 starts with them): only a file named as COSE owes us COSE;
  // any other that does not decode to a tagged four-element array is simply not COSE.
  const named = COSE_NAME.test(ctx.name);
  let value: CborValue;
  try {
    value = decodeCbor(bytes, 0).value;
  } catch (e) {
    if (named) throw e;
    rethrowUnlessParseError(e);
    return { findings: [] };
  }
  if (!isCborTag(value) || (value.tag !== TAG_SIGN1 && value.tag !== TAG_SIGN) || !Array.isArray(value.value) || value.value.length !== 4) {
    if (!named) return { findings: [] };
    throw new ParseError('not a tagged COSE_Sign1 or COSE_Sign structure', 0, 'malformed');
  }
  const out = new Out();
  const [protectedBytes, unprotected, , last] = value.value;
  const bodyProtected = protectedHeader(protectedBytes);
  if (!(unprotected instanceof Map)) throw new ParseError('COSE unprotected header is not a map', 0);
  if (value.tag === TAG_SIGN1) {
    if (!isCborBytes(last)) throw new ParseError('COSE_Sign1 signature is not a byte string', 0);
    signature(bodyProtected, unprotected, last.bytes, last.start, '', out);
  } else {
    // COSE_Sign: the body's headers apply to the content; each COSE_Signature carries its own (RFC 9052 §4.1).
    if (!Array.isArray(last)) throw new ParseError('COSE_Sign signatures is not an array', 0);
    const certs = chain(unprotected, '', out);
    out.findings.push(...certs.findings);
    last.slice(0, MAX_OBJECTS_PER_ARTIFACT).forEach((s, i) => {
      const path = `signatures[${i}]`;
      try {
        if (!Array.isArray(s) || s.length !== 3 || !(s[1] instanceof Map) || !isCborBytes(s[2]))
          throw new ParseError('COSE_Signature is not [protected, unprotected, signature]', 0);
        signature(protectedHeader(s[0]), s[1], s[2].bytes, s[2].start, path, out, certs.leaf);
      } catch (e) {
        out.fail(path, 0, e);
      }
    });
  }
  return { findings: out.findings, errors: out.errors };
}

/** The protected header: a byte string holding an encoded map, or empty for none (RFC 9052 §3). */
function protectedHeader(v: CborValue): Headers {
  if (!isCborBytes(v)) throw new ParseError('COSE protected header is not a byte string', 0);
  if (v.bytes.length === 0) return new Map();
  const { value, end } = decodeCbor(v.bytes, 0);
  if (!(value instanceof Map) || end !== v.bytes.length) throw new ParseError('COSE protected header is not one encoded map', v.start);
  return value;
}

interface Chain {
  findings: Finding[];
  leaf?: { cert: ParsedCertificate; fingerprint: string };
}

/** x5chain (RFC 9360 §2): one certificate as a byte string, or an array of them, leaf first. */
function chain(headers: Headers, path: string, out: Out): Chain {
  const v = headers.get(LABEL.x5chain);
  if (v === undefined) return { findings: [] };
  const items = isCborBytes(v) ? [v] : Array.isArray(v) ? v.slice(0, MAX_CHAIN) : [];
  if (items.length === 0) {
    out.fail('x5chain', 0, new ParseError('x5chain is neither a certificate nor an array of them'));
    return { findings: [] };
  }
  const result: Chain = { findings: [] };
  items.forEach((c, i) => {
    const where = `${path ? `${path}.` : ''}x5chain[${i}]`;
    try {
      if (!isCborBytes(c)) throw new ParseError('not a byte string');
      const cert = parseCertificate(readNode(c.bytes, 0, c.bytes.length));
      const f = certificateFinding(cert, 'cose', c.start, where);
      result.findings.push(f);
      if (i === 0 && f.fingerprint) result.leaf = { cert, fingerprint: f.fingerprint };
    } catch (e) {
      out.fail(where, isCborBytes(c) ? c.start : 0, e);
    }
  });
  return result;
}

/** One signature with the headers that apply to it (protected wins over unprotected, RFC 9052 §3). */
function signature(prot: Headers, unprot: Headers, sig: Uint8Array, offset: number, path: string, out: Out, bodyLeaf?: Chain['leaf']): void {
  const header = (label: CborKey) => prot.get(label) ?? unprot.get(label);
  const certs = chain(unprot.has(LABEL.x5chain) ? unprot : prot, path, out);
  const leaf = certs.leaf ?? bodyLeaf;
  const alg = header(LABEL.alg);
  const details: Record<string, unknown> = { signatureBytes: sig.length };
  const cty = header(LABEL.contentType);
  if (typeof cty === 'string' || typeof cty === 'number') details.contentType = cty;
  const kid = header(LABEL.kid);
  if (isCborBytes(kid)) details.kid = Buffer.from(kid.bytes).toString('hex');
  const scheme = header(NOTARY_SCHEME);
  if (typeof scheme === 'string') details.signingScheme = scheme;
  const agent = header('io.cncf.notary.signingAgent');
  if (typeof agent === 'string') details.signingAgent = agent.slice(0, 256);
  const signingTime = notaryTime(header('io.cncf.notary.signingTime'));
  if (typeof alg !== 'number') throw new ParseError(alg === undefined ? 'COSE signature without an "alg" header' : 'COSE "alg" is not an integer', offset);
  const entry = catalogue().data.cose[String(alg)];
  if (entry && entry.role !== 'signature') throw new ParseError(`COSE algorithm ${alg} is not a signature algorithm`, offset);
  const { described, from } = describe(entry, alg, sig, leaf?.cert);
  if (from) details.parameterFrom = from;
  if (leaf) {
    details.keyFrom = 'x5chain';
    details.signerCertificate = leaf.fingerprint;
  }
  const want = SIGNATURE_BYTES[described.algorithm.id];
  if (want !== undefined && sig.length !== want)
    throw new ParseError(`${described.algorithm.name ?? alg} signature is ${sig.length} bytes, not ${want}`, offset);
  out.findings.push({
    kind: 'signature',
    format: 'cose',
    algorithm: described.algorithm,
    quantum: described.quantum,
    location: { offset, ...(path ? { path } : {}) },
    ...(signingTime ? { created: signingTime } : {}),
    details,
  });
  out.findings.push(...certs.findings);
  timestamp(unprot.get(NOTARY_TIMESTAMP), path, out);
}

/** The algorithm, sized by the leaf certificate's key when there is one, else by what the signature's length fixes. */
function describe(
  entry: CatalogueEntry | undefined,
  alg: number,
  sig: Uint8Array,
  cert: ParsedCertificate | undefined,
): { described: Described; from?: ParameterFrom } {
  const cat = catalogue();
  if (!entry) return { described: cat.resolve(undefined, {}, { name: `COSE ${alg}` }) };
  const key = cert?.key;
  if (entry.family === 'RSA') {
    if (key && key.algorithm.family !== 'RSA') throw new ParseError(`${entry.name ?? alg} with a ${key.algorithm.id} certificate`);
    if (key?.bits) {
      if (sig.length !== Math.ceil(key.bits / 8)) throw new ParseError(`${entry.name ?? alg} signature is ${sig.length} bytes for a ${key.bits}-bit key`);
      return { described: cat.resolve(entry, { bits: key.bits }), from: 'certificate' };
    }
    const inferred = rsaFromOctets(entry, sig.length, 'signature-length');
    return { described: inferred, ...(inferred.parameterFrom ? { from: inferred.parameterFrom } : {}) };
  }
  if (entry.family === 'EdDSA') {
    // RFC 9053 §2.2: -8 names no curve; the key does, or the signature length (64 bytes Ed25519, 114 Ed448).
    if (key?.algorithm.family === 'EdDSA') return { described: cat.resolve(entry, { id: key.algorithm.id }), from: 'certificate' };
    if (sig.length === 64 || sig.length === 114) return { described: cat.byId(sig.length === 64 ? 'Ed25519' : 'Ed448', { name: entry.name }) };
    return { described: cat.resolve(entry) };
  }
  // Fully specified (ES256, Ed25519, ML-DSA-65 …): a certificate with another key contradicts the header.
  if (key && entry.id && key.algorithm.id !== entry.id) throw new ParseError(`${entry.name ?? alg} with a ${key.algorithm.id} certificate`);
  return { described: cat.resolve(entry) };
}

/** Notary's signingTime is a CBOR epoch date (tag 1, RFC 8949 §3.4.2). */
function notaryTime(v: CborValue): string | undefined {
  if (!isCborTag(v) || v.tag !== 1 || typeof v.value !== 'number' || !Number.isFinite(v.value)) return undefined;
  const ms = Math.floor(v.value) * 1000;
  return ms >= 0 && ms < 253402300800000 ? new Date(ms).toISOString() : undefined;
}

/** The Notary Project's RFC 3161 countersignature: the CMS walker reads the token in place (its DER is verbatim). */
function timestamp(v: CborValue, path: string, out: Out): void {
  if (v === undefined) return;
  const at = `${path ? `${path}.` : ''}${NOTARY_TIMESTAMP}`;
  try {
    if (!isCborBytes(v)) throw new ParseError('not a byte string');
    // The walker's offsets are within the token; the byte string's start makes them offsets in the file.
    const node = readNode(v.bytes, 0, v.bytes.length);
    const cms = parseCms(node, { format: 'cose' });
    for (const e of cms.errors) out.errors.push({ ...e, message: `${at}: ${e.message}`, offset: v.start + (e.offset ?? 0) });
    for (const f of cms.findings) {
      f.location = { offset: v.start + (f.location.offset ?? 0), path: f.location.path ? `${at}.${f.location.path}` : at };
      f.details = { ...f.details, countersignatureOf: 'cose' };
      out.findings.push(f);
    }
  } catch (e) {
    out.fail(at, isCborBytes(v) ? v.start : 0, e);
  }
}
