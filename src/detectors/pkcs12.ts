/**
 * PKCS#12 / PFX key stores (RFC 7292), as written by OpenSSL 3 (PBES2 AES-256-CBC + PBKDF2, HMAC-SHA-256 MAC), by
 * `openssl pkcs12 -legacy` (pbeWithSHAAnd40BitRC2-CBC for certificates, 3-key 3DES for keys, SHA-1 MAC), by Java
 * keytool, and PBMAC1 (RFC 9579). Reports the MAC, how each AuthenticatedSafe part is protected, and the contents
 * that are not encrypted: certificates, plain keys, and shrouded keys with their protection.
 * @module
 */
import { DerNode, readNode, TAG } from '../pkix/der.js';
import { catalogue } from '../catalogue/index.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import { MAX_DER_CHILDREN, MAX_DER_DEPTH } from '../limits.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { readAlgorithmIdentifier } from '../pkix/algorithm.js';
import { certificateFinding, parseCertificate, sha256Hex, type ParsedCertificate } from '../pkix/certificate.js';
import { CONTENT_TYPE } from '../pkix/cms.js';
import { parseCms } from './cms.js';
import { describeEncryptionScheme, parseEncryptedPkcs8, parsePkcs8 } from './keys.js';
import type { Detector, DetectResult } from './types.js';

const BAG = {
  keyBag: '1.2.840.113549.1.12.10.1.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  crlBag: '1.2.840.113549.1.12.10.1.4',
  secretBag: '1.2.840.113549.1.12.10.1.5',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
} as const;
const X509_CERT_TYPE = '1.2.840.113549.1.9.22.1';
const LOCAL_KEY_ID = '1.2.840.113549.1.9.21';
const FRIENDLY_NAME = '1.2.840.113549.1.9.20';
/** RFC 9579: PBMAC1, the PBKDF2-based MAC of newer writers. */
const PBMAC1 = '1.2.840.113549.1.5.14';
/** Bags read from one store (each SafeContents may nest, RFC 7292 §4.2.6). */
const MAX_BAGS = 10_000;

export interface Pkcs12Mac {
  algorithm: string;
  hash?: string;
  iterations: number;
  kdf?: string;
}

export interface Pkcs12Result {
  findings: Finding[];
  errors: ErrorEntry[];
  mac?: Pkcs12Mac;
}

/**
 * PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL } (RFC 7292 §4).
 * Throws ParseError when `node` is not a PFX.
 */
export function parsePkcs12(node: DerNode): Pkcs12Result {
  node.expect(TAG.SEQUENCE, 'PFX');
  const kids = node.children();
  if (kids.length < 2 || kids[0].tag !== TAG.INTEGER || kids[0].int() !== 3) throw new ParseError(`not a PFX (version 3) at offset ${node.start}`, node.start);
  const walker = new Pkcs12Walker(node.buf);
  const mac = kids[2] ? readMac(kids[2]) : undefined;
  const authSafe = kids[1].expect(TAG.SEQUENCE, 'authSafe ContentInfo').children();
  const type = authSafe[0]?.oid();
  if (type === CONTENT_TYPE.signedData) {
    // Public-key integrity mode (§4.1): the AuthenticatedSafe is the eContent of a SignedData; report its signers.
    const r = parseCms(kids[1], { format: 'pkcs12' });
    walker.findings.push(...r.findings);
    walker.errors.push(...r.errors);
    const sd = authSafe[1]?.inner().children();
    const encap = sd?.[2]?.children();
    if (encap?.[1]?.isContext(0)) walker.authenticatedSafe(encap[1].inner());
  } else if (type === CONTENT_TYPE.data) {
    if (!authSafe[1]?.isContext(0)) throw new ParseError(`PFX at offset ${node.start}: authSafe has no content`, node.start);
    walker.authenticatedSafe(authSafe[1].inner());
  } else {
    throw new ParseError(`PFX at offset ${node.start}: authSafe content type ${type} is neither data nor signedData`, node.start);
  }
  walker.linkKeys();
  if (mac) for (const f of walker.findings) f.details = { ...f.details, mac };
  return { findings: walker.findings, errors: walker.errors, ...(mac ? { mac } : {}) };
}

/** MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 } (RFC 7292 §4) */
function readMac(node: DerNode): Pkcs12Mac {
  const [digestInfo, , iter] = node.expect(TAG.SEQUENCE, 'MacData').children();
  const alg = readAlgorithmIdentifier(digestInfo.expect(TAG.SEQUENCE, 'DigestInfo').child(0, 'digestAlgorithm'));
  const iterations = iter?.tag === TAG.INTEGER ? iter.int() : 1;
  const cat = catalogue();
  if (alg.oid === PBMAC1 && alg.params?.tag === TAG.SEQUENCE) {
    // PBMAC1-params ::= SEQUENCE { keyDerivationFunc, messageAuthScheme }; the iterations live in the PBKDF2 params.
    const [kdfNode, schemeNode] = alg.params.children();
    const kdf = readAlgorithmIdentifier(kdfNode);
    const scheme = readAlgorithmIdentifier(schemeNode);
    const p = kdf.params?.tag === TAG.SEQUENCE ? kdf.params.children() : [];
    const hash = cat.oid(scheme.oid)?.hash;
    return {
      algorithm: 'PBMAC1',
      ...(hash ? { hash } : {}),
      iterations: p[1]?.tag === TAG.INTEGER ? p[1].int() : iterations,
      kdf: cat.oid(kdf.oid)?.name ?? kdf.oid,
    };
  }
  const hash = cat.hashName(alg.oid);
  // RFC 7292 Appendix B: the MAC key comes from the PKCS#12 KDF with the digest named here.
  return { algorithm: hash ? `HMAC-${hash}` : alg.oid, ...(hash ? { hash } : {}), iterations, kdf: 'PKCS12-KDF' };
}

class Pkcs12Walker {
  readonly findings: Finding[] = [];
  readonly errors: ErrorEntry[] = [];
  private bags = 0;
  private readonly certsByKeyId = new Map<string, ParsedCertificate>();
  private readonly keysByKeyId: { keyId: string; finding: Finding }[] = [];
  /** Buffers joined from BER OCTET STRING chunks → offset of the chunked string in the PFX bytes. */
  private readonly joinedAt = new WeakMap<Uint8Array, number>();

  constructor(private readonly root: Uint8Array) {}

  /** Offset of a node in the PFX bytes (nodes inside joined chunks report the chunked string's offset). */
  private at(node: DerNode): number {
    return node.buf === this.root ? node.start : (this.joinedAt.get(node.buf) ?? 0);
  }

  private innerOf(octets: DerNode): DerNode {
    const n = innerOf(octets);
    if (n.buf !== octets.buf) this.joinedAt.set(n.buf, this.at(octets));
    return n;
  }

  private problem(node: DerNode, what: string, e: unknown): void {
    rethrowUnlessParseError(e);
    this.errors.push({
      code: e.code === 'truncated' ? 'truncated' : 'malformed',
      message: `${what} at offset ${this.at(node)}: ${e.message}`,
      offset: this.at(node),
    });
  }

  /** AuthenticatedSafe ::= SEQUENCE OF ContentInfo, inside the data OCTET STRING (DER, or BER chunks). */
  authenticatedSafe(octets: DerNode): void {
    const parts = this.innerOf(octets).children();
    parts.forEach((ci, i) => {
      const path = `authSafe[${i}]`;
      try {
        const kids = ci.expect(TAG.SEQUENCE, 'ContentInfo').children();
        const type = kids[0]?.oid();
        if (type === CONTENT_TYPE.data) {
          if (kids[1]?.isContext(0)) this.safeContents(this.innerOf(kids[1].inner()), `${path}.`, 0);
        } else if (type === CONTENT_TYPE.encryptedData) {
          this.encryptedPart(ci, kids[1], path);
        } else if (type === CONTENT_TYPE.envelopedData) {
          const r = parseCms(ci, { format: 'pkcs12', ...(ci.buf === this.root ? {} : { fixedOffset: this.at(ci) }) });
          this.findings.push(...r.findings.map((f) => ({ ...f, location: { ...f.location, path: `${path}.${f.location.path ?? ''}` } })));
          this.errors.push(...r.errors);
        } else {
          this.errors.push({ code: 'unsupported', message: `${path}: content type ${type} is not one RFC 7292 §5.1 allows`, offset: this.at(ci) });
        }
      } catch (e) {
        this.problem(ci, path, e);
      }
    });
  }

  /** EncryptedData with a password-based scheme: certificates (usually) that stay hidden without the password. */
  private encryptedPart(ci: DerNode, wrapped: DerNode | undefined, path: string): void {
    if (!wrapped?.isContext(0)) throw new ParseError('EncryptedData has no content', ci.start);
    const ed = wrapped.inner().expect(TAG.SEQUENCE, 'EncryptedData').children();
    const eci = ed[1]?.expect(TAG.SEQUENCE, 'EncryptedContentInfo').children();
    if (!eci || eci.length < 2) throw new ParseError('EncryptedContentInfo is missing fields', ci.start);
    const { described, details } = describeEncryptionScheme(readAlgorithmIdentifier(eci[1]));
    this.findings.push({
      kind: 'encrypted-data',
      format: 'pkcs12',
      algorithm: described.algorithm,
      quantum: described.quantum,
      location: { offset: this.at(eci[1]), path: `${path}.encryptedContentInfo` },
      // SHA-256 of the encrypted part: its identity when several parts share one offset (BER chunks joined).
      fingerprint: sha256Hex(ed[1].encoded),
      details: { structure: 'EncryptedData', role: 'safe-contents', ...details },
    });
  }

  /** SafeContents ::= SEQUENCE OF SafeBag; SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OPTIONAL } */
  private safeContents(node: DerNode, path: string, nesting: number): void {
    const bags = node.expect(TAG.SEQUENCE, 'SafeContents').children();
    bags.forEach((bag, i) => {
      if (++this.bags > MAX_BAGS) throw new ParseError(`more than ${MAX_BAGS} bags`, this.at(bag));
      const here = `${path}bags[${i}]`;
      try {
        this.safeBag(bag, here, nesting);
      } catch (e) {
        this.problem(bag, here, e);
      }
    });
  }

  private safeBag(bag: DerNode, path: string, nesting: number): void {
    const [idNode, valueNode, attrs] = bag.expect(TAG.SEQUENCE, 'SafeBag').children();
    const bagId = idNode?.oid();
    if (!valueNode?.isContext(0)) throw new ParseError('SafeBag has no bagValue', bag.start);
    const value = valueNode.inner();
    const keyId = attrs?.tag === TAG.SET ? attributeHex(attrs, LOCAL_KEY_ID) : undefined;
    const friendlyName = attrs?.tag === TAG.SET ? attributeText(attrs, FRIENDLY_NAME) : undefined;
    const extra = { ...(friendlyName ? { friendlyName } : {}), ...(keyId ? { localKeyId: keyId } : {}) };
    switch (bagId) {
      case BAG.certBag: {
        // CertBag ::= SEQUENCE { certId, certValue [0] EXPLICIT OCTET STRING (DER certificate) }
        const [certId, certValue] = value.children();
        if (certId?.oid() !== X509_CERT_TYPE || !certValue?.isContext(0)) return; // SDSI certificates: nothing to name
        const certNode = this.innerOf(certValue.inner());
        const cert = parseCertificate(certNode);
        if (keyId) this.certsByKeyId.set(keyId, cert);
        const f = certificateFinding(cert, 'pkcs12', this.at(certNode), path);
        f.details = { ...f.details, ...extra };
        this.findings.push(f);
        return;
      }
      case BAG.keyBag: {
        const f = parsePkcs8(value, this.at(value));
        f.format = 'pkcs12';
        f.location.path = path;
        f.details = { ...f.details, ...extra };
        this.findings.push(f);
        return;
      }
      case BAG.pkcs8ShroudedKeyBag: {
        // The key inside (named from its ciphertext's length, or below from its certificate) and its wrapping.
        const pair = parseEncryptedPkcs8(value, this.at(value));
        for (const f of pair) {
          f.format = 'pkcs12';
          f.fingerprint = sha256Hex(value.encoded); // of the ciphertext structure, not of the key
          f.location.path = path;
          f.details = { ...f.details, ...extra };
          this.findings.push(f);
        }
        if (keyId) this.keysByKeyId.push({ keyId, finding: pair[0] });
        return;
      }
      case BAG.safeContentsBag:
        if (nesting >= MAX_DER_DEPTH / 8) throw new ParseError('SafeContents nested too deeply', bag.start);
        this.safeContents(value, `${path}.`, nesting + 1);
        return;
      default:
        // crlBag, secretBag: no key algorithm to report.
        return;
    }
  }

  /**
   * A shrouded key's AlgorithmIdentifier is encrypted; its certificate (same localKeyId, RFC 7292 §4.2, readable when
   * the certificates are not in an encrypted part) says exactly what key it is, better than the ciphertext's length.
   */
  linkKeys(): void {
    for (const { keyId, finding } of this.keysByKeyId) {
      const cert = this.certsByKeyId.get(keyId);
      if (!cert) continue;
      finding.algorithm = cert.key.algorithm;
      finding.quantum = cert.key.quantum;
      const { keyAlgorithmCandidates: _candidates, ...details } = finding.details ?? {};
      finding.details = { ...details, keyAlgorithmFrom: 'certificate (localKeyId)', certificateSubject: cert.subject };
    }
  }
}

/**
 * The TLV inside an OCTET STRING. BER writers may split the OCTET STRING into chunks (constructed, tag 0x24); then
 * the chunks are joined into a new buffer (bounded by the input's size) and parsed from there.
 */
function innerOf(octets: DerNode): DerNode {
  if (octets.tag === TAG.OCTET_STRING) return octets.inner();
  if (octets.tag !== (TAG.OCTET_STRING | 0x20)) throw new ParseError(`expected OCTET STRING at offset ${octets.start}`, octets.start);
  const parts: Uint8Array[] = [];
  let count = 0;
  const collect = (n: DerNode) => {
    for (const c of n.children()) {
      if (++count > MAX_DER_CHILDREN) throw new ParseError('too many OCTET STRING chunks', c.start);
      if (c.tag === TAG.OCTET_STRING) parts.push(c.content);
      else if (c.tag === (TAG.OCTET_STRING | 0x20)) collect(c);
      else throw new ParseError(`bad OCTET STRING chunk at offset ${c.start}`, c.start);
    }
  };
  collect(octets);
  const joined = new Uint8Array(Buffer.concat(parts));
  return readNode(joined, 0, joined.length, octets.depth + 1);
}

function attributeValues(attrs: DerNode, oid: string): DerNode[] {
  for (const a of attrs.children()) {
    const [type, values] = a.children();
    if (type?.tag === TAG.OID && type.oid() === oid && values?.tag === TAG.SET) return values.children();
  }
  return [];
}

function attributeHex(attrs: DerNode, oid: string): string | undefined {
  const v = attributeValues(attrs, oid)[0];
  return v ? Buffer.from(v.content).toString('hex') : undefined;
}

function attributeText(attrs: DerNode, oid: string): string | undefined {
  const v = attributeValues(attrs, oid)[0];
  return v ? v.text() : undefined;
}

// PFX ::= SEQUENCE { INTEGER 3, ContentInfo … }: the version follows the outer header, then the ContentInfo SEQUENCE.
const MAGIC = [
  { offset: 4, bytes: [0x02, 0x01, 0x03, 0x30, 0x82] },
  { offset: 4, bytes: [0x02, 0x01, 0x03, 0x30, 0x80] },
  { offset: 2, bytes: [0x02, 0x01, 0x03, 0x30, 0x80] },
  { offset: 5, bytes: [0x02, 0x01, 0x03, 0x30, 0x83] },
  { offset: 3, bytes: [0x02, 0x01, 0x03, 0x30, 0x81] },
];

export const pkcs12Detector: Detector = {
  format: 'pkcs12',
  description: 'PKCS#12 / PFX key stores: MAC, per-part encryption, certificates and (shrouded) keys',
  claims: { magic: MAGIC, names: ['*.p12', '*.pfx'] },
  detect: detectPkcs12,
};

export function detectPkcs12(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const byName = /\.(p12|pfx)$/i.test(ctx.name);
  if (ctx.baseOffset !== 0) return { findings: [] };
  let node: DerNode;
  try {
    node = readNode(bytes, 0, bytes.length);
    const kids = node.children();
    // Claimed by magic only: a DER SEQUENCE starting with INTEGER 3 is not proof; insist on the authSafe ContentInfo.
    if (!byName && !(kids[1]?.tag === TAG.SEQUENCE && kids[1].children()[0]?.tag === TAG.OID)) return { findings: [] };
  } catch (e) {
    rethrowUnlessParseError(e);
    if (!byName) return { findings: [] };
    throw new ParseError(`not a PKCS#12 file: ${e.message}`, e.offset, e.code === 'truncated' ? 'truncated' : 'malformed');
  }
  const r = parsePkcs12(node);
  return {
    findings: r.findings,
    errors: r.errors,
    ...(r.mac ? { annotations: { 'pkcs12.mac': r.mac.algorithm, 'pkcs12.macIterations': String(r.mac.iterations) } } : {}),
  };
}
