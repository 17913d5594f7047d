/**
 * Who signed a DSSE envelope, and whether the user trusts them (`--trust`). One answer per signed document:
 * - `verified`: the signature verifies with a key, certificate chain or Sigstore identity in the trust file;
 * - `untrusted`: it verifies with the material the document carries (its certificate or key), whose owner is not
 *   trusted; `unverifiable`: it carries no usable key (a key hint only) and no trusted key fits;
 * - `failed`: it does not verify with its own material, or with the trusted key it names: never counted as signed.
 * Sigstore bundles with a Fulcio certificate and transparency-log entries go through @sigstore/verify offline (the
 * trusted root from the trust file; SCTs, inclusion proofs or promises, identity policy); plain keys and X.509
 * chains through node:crypto (OpenSSL); shelflife's hybrid (composite ML-DSA) bundles through src/resign/composite.
 * DSSE signs PAE(payloadType, payload) (DSSE protocol.md). model-signing v0.2 signed a mangled PAE with SHA-256
 * whatever the curve (model-transparency sign_sigstore_pb.pae_compat); that variant is accepted for legacy
 * signatures only.
 * @module
 */
import { createPublicKey, verify as nodeVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { parseDer, TAG, type DerNode } from '../pkix/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { describeSignatureShape } from '../detectors/dsse.js';
import { errorMessage } from '../errors.js';
import type { SigningCertificate } from '../resign/cert.js';
import { verify as compositeVerify } from '../resign/composite.js';
import { pae } from '../resign/dsse.js';
import type { DsseEnvelope } from './intoto.js';
import type { SigstoreBundle } from './sigstore-bundle.js';
import type { Principal, Trust } from './trust.js';

export type CheckStatus = 'verified' | 'untrusted' | 'unverifiable' | 'failed';

export interface SignatureCheck {
  status: CheckStatus;
  /** The trusted principal (trust-file entry) the signature verified with. */
  principal?: Principal;
  /** Who signed, as far as the document says (certificate subject / SAN, key hint). */
  signer?: string;
  /** The signature algorithm, named from the verifying key. */
  algorithm?: Described;
  method: 'key' | 'certificate' | 'sigstore' | 'hybrid';
  reason: string;
  /** When it was signed, from a verified transparency-log entry (statements such as test-result carry no time). */
  time?: { at: string; source: 'transparency-log' | 'rfc3161'; authority?: string };
}

export interface SignedDocument {
  envelope: DsseEnvelope;
  bundle?: SigstoreBundle;
  /** shelflife hybrid bundle: the signer's certificate (DER). */
  hybridCertificate?: SigningCertificate;
  /** model-signing v0.2 signatures: accept the mangled PAE. */
  legacyModelSignature?: boolean;
}

const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
// The Sigstore libraries are CommonJS and loaded only when a document needs them.
const require = createRequire(import.meta.url);

export function checkSignature(doc: SignedDocument, trust: Trust): SignatureCheck {
  const check = checkSignatureOnly(doc, trust);
  // A signature that verifies (trusted or not) is dated by a trusted RFC 3161 timestamp over its bytes.
  if (!check.time && doc.bundle?.rfc3161Timestamps.length && (check.status === 'verified' || check.status === 'untrusted')) {
    const t = timestampOf(doc, trust);
    if (t) return { ...check, time: t };
  }
  return check;
}

function checkSignatureOnly(doc: SignedDocument, trust: Trust): SignatureCheck {
  if (doc.hybridCertificate) return checkHybrid(doc, doc.hybridCertificate, trust);
  const material = doc.bundle?.material;
  // Sigstore: a certificate with transparency-log entries.
  // Sigstore: a (Fulcio) certificate with transparency-log entries; bundles v0.1/v0.2 carry it as a one-element chain.
  if (doc.bundle && (material?.kind === 'certificate' || material?.kind === 'certificate-chain') && doc.bundle.tlogEntries > 0)
    return checkSigstore(doc, doc.bundle, trust);
  const messages = signedMessages(doc);
  for (const k of trust.keys) {
    if (messages.some((m) => verifyWithKey(k.key, m.message, m.signature, m.hash)))
      return ok('key', k, describeKey(k.key), `verifies with trusted key "${k.name}"`);
  }
  let leaf: X509Certificate | undefined;
  let chain: X509Certificate[];
  if (material?.kind === 'certificate-chain' || material?.kind === 'certificate') {
    const ders = material.kind === 'certificate' ? [material.certificate] : material.certificates;
    try {
      chain = ders.map((d) => new X509Certificate(d));
      leaf = chain[0];
    } catch (e) {
      return { status: 'failed', method: 'certificate', reason: `the signing certificate is not readable: ${errorMessage(e)}` };
    }
    for (const c of trust.certificates) {
      if (!c.roots) continue;
      const path = chainTo(leaf, chain.slice(1), c.roots);
      if (!path.ok) continue;
      const usage = signingUsage(leaf);
      if (!usage.ok) return { status: 'failed', method: 'certificate', signer: leaf.subject, reason: usage.reason };
      if (!messages.some((m) => verifyWithKey(leaf!.publicKey, m.message, m.signature, m.hash)))
        return {
          status: 'failed',
          method: 'certificate',
          signer: leaf.subject,
          reason: `the signature does not verify with the certificate chained to "${c.name}"`,
        };
      return ok(
        'certificate',
        c,
        describeKey(leaf.publicKey),
        `certificate ${oneLine(leaf.subject)} chains to trusted roots "${c.name}"`,
        oneLine(leaf.subject),
      );
    }
  }
  // Not trusted: say whether it verifies with its own material.
  let own: KeyObject | undefined = leaf?.publicKey;
  if (!own && material?.kind === 'public-key' && material.rawKey) {
    try {
      own = createPublicKey(Buffer.from(material.rawKey));
    } catch (e) {
      return { status: 'failed', method: 'key', reason: `the embedded public key is not readable: ${errorMessage(e)}` };
    }
  }
  const method = leaf ? 'certificate' : 'key';
  if (!own) {
    const hint = material?.kind === 'public-key' ? material.hint : undefined;
    // The algorithm is what the signature's shape alone reveals (a DER ECDSA signature: ECDSA, curve unknown).
    const shape = doc.envelope.signatures.map((x) => describeSignatureShape(x.sig)).find((d) => d !== undefined);
    return {
      status: 'unverifiable',
      method,
      ...(shape ? { algorithm: shape.described } : {}),
      ...(hint ? { signer: `key ${hint}` } : {}),
      reason: `signed with a key${hint ? ` (hint ${hint.slice(0, 24)})` : ''} that no trusted key in ${trust.file} matches`,
    };
  }
  const signer = leaf ? oneLine(leaf.subject) : `embedded ${describeKey(own).algorithm.id} key`;
  if (!messages.some((m) => verifyWithKey(own!, m.message, m.signature, m.hash)))
    return { status: 'failed', method, signer, algorithm: describeKey(own), reason: 'the signature does not verify with the key or certificate it carries' };
  return {
    status: 'untrusted',
    method,
    signer,
    algorithm: describeKey(own),
    reason: `verifies with its own ${leaf ? 'certificate' : 'key'}, whose signer is not in ${trust.file}`,
  };
}

function ok(method: SignatureCheck['method'], principal: Principal, algorithm: Described, reason: string, signer?: string): SignatureCheck {
  return { status: 'verified', method, principal, algorithm, reason, signer: signer ?? principal.name };
}

/** The messages a DSSE signature may be over: PAE, plus model-signing v0.2's mangled variant (SHA-256). */
function signedMessages(doc: SignedDocument): { message: Uint8Array; signature: Uint8Array; hash?: string }[] {
  const out: { message: Uint8Array; signature: Uint8Array; hash?: string }[] = [];
  const std = pae(doc.envelope.payloadType, doc.envelope.payload);
  for (const s of doc.envelope.signatures) {
    out.push({ message: std, signature: s.sig });
    if (doc.legacyModelSignature) out.push({ message: paeCompat(doc.envelope.payloadType, doc.envelope.payload), signature: s.sig, hash: 'sha256' });
  }
  return out;
}

/** `f"DSSEV1 {len(type)} {type} {len(payload)} {payload!r}"` as model-signing v0.2 built it (bytes repr). */
export function paeCompat(payloadType: string, payload: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`DSSEV1 ${payloadType.length} ${payloadType} ${payload.length} ${pythonBytesRepr(payload)}`);
}

/** Python's repr() of a bytes object. */
export function pythonBytesRepr(b: Uint8Array): string {
  const q = b.includes(0x27) && !b.includes(0x22) ? '"' : "'";
  let out = `b${q}`;
  for (const c of b) {
    if (c === q.charCodeAt(0) || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(c);
  }
  return `${out}${q}`;
}

/**
 * Verify with a classical key: ECDSA with the curve's hash (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512, as
 * model-signing and Sigstore pair them), DER or IEEE P1363 (r‖s) encoded; RSA PKCS#1 v1.5 or PSS with SHA-256;
 * Ed25519. A malformed signature is `false`, never an exception.
 */
export function verifyWithKey(key: KeyObject, message: Uint8Array, signature: Uint8Array, hash?: string): boolean {
  const type = key.asymmetricKeyType;
  const attempt = (alg: string | null, opts: Record<string, unknown>) => {
    try {
      return nodeVerify(alg, message, { key, ...opts } as never, signature);
    } catch {
      return false; // malformed signature bytes for this encoding: not a match
    }
  };
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const h = hash ?? (curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256');
    return attempt(h, { dsaEncoding: 'der' }) || attempt(h, { dsaEncoding: 'ieee-p1363' });
  }
  if (type === 'rsa') return attempt(hash ?? 'sha256', {}) || attempt(hash ?? 'sha256', { padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -2 });
  if (type === 'ed25519' || type === 'ed448') return attempt(null, {});
  return false;
}

/** Name a key's signature algorithm through the catalogue. */
export function describeKey(key: KeyObject): Described {
  const cat = catalogue();
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return cat.forKey('ECDSA', d.namedCurve ?? 'unknown');
    case 'rsa':
    case 'rsa-pss':
      return cat.forKey('RSA', d.modulusLength ?? 0);
    case 'ed25519':
      return cat.byId('Ed25519');
    case 'ed448':
      return cat.byId('Ed448');
    default:
      return cat.resolve(undefined);
  }
}

function chainTo(leaf: X509Certificate, intermediates: X509Certificate[], roots: X509Certificate[]): { ok: boolean } {
  // Validity is judged at the leaf's notBefore, as model-signing's certificate verifier does (signing time unknown).
  const at = new Date(leaf.validFrom).getTime();
  const valid = (c: X509Certificate) => new Date(c.validFrom).getTime() <= at && at <= new Date(c.validTo).getTime();
  let current = leaf;
  if (!valid(leaf)) return { ok: false };
  for (let hops = 0; hops < 8; hops++) {
    const root = roots.find((r) => current.checkIssued(r) && current.verify(r.publicKey));
    if (root) return { ok: valid(root) && root.ca };
    const next = intermediates.find((c) => c !== current && current.checkIssued(c) && current.verify(c.publicKey));
    if (!next || !next.ca || !valid(next)) return { ok: false };
    current = next;
  }
  return { ok: false };
}

/** A signing certificate must allow digitalSignature (KeyUsage) or codeSigning (ExtendedKeyUsage), as model-signing requires. */
function signingUsage(cert: X509Certificate): { ok: true } | { ok: false; reason: string } {
  const ku = keyUsageBits(cert);
  if (ku !== undefined && ku & 0x80) return { ok: true };
  if (cert.keyUsage?.includes(CODE_SIGNING)) return { ok: true };
  return { ok: false, reason: `certificate ${oneLine(cert.subject)} is not for signing (neither digitalSignature nor codeSigning)` };
}

/** The first octet of the KeyUsage BIT STRING (bit 0 = digitalSignature), read with the bounded DER reader. */
function keyUsageBits(cert: X509Certificate): number | undefined {
  try {
    const tbs = parseDer(new Uint8Array(cert.raw)).child(0);
    const ext = tbs.children().find((n: DerNode) => n.isContext(3));
    if (!ext) return undefined;
    for (const e of ext.inner().children()) {
      const parts = e.children();
      if (parts[0]?.tag === TAG.OID && parts[0].oid() === '2.5.29.15') {
        const bits = parts[parts.length - 1].inner().bits();
        return bits[0] ?? 0;
      }
    }
  } catch {
    return undefined; // no readable KeyUsage: decided by the EKU alone
  }
  return undefined;
}

function oneLine(subject: string | undefined): string {
  return (subject ?? '').replace(/\n/g, ', ') || '(empty subject)';
}

function checkHybrid(doc: SignedDocument, cert: SigningCertificate, trust: Trust): SignatureCheck {
  const message = pae(doc.envelope.payloadType, doc.envelope.payload);
  const algorithm = catalogue().byId(cert.publicKey.alg.id);
  const sigs = doc.envelope.signatures.map((s) => compositeVerify(cert.publicKey, message, s.sig));
  const good = sigs.find((r) => r.valid);
  if (!good) return { status: 'failed', method: 'hybrid', signer: cert.subject, algorithm, reason: sigs[0]?.reason ?? 'the hybrid signature does not verify' };
  const pinned = trust.certificates.find((c) => c.pinned && Buffer.from(c.pinned.der).equals(Buffer.from(cert.der)));
  if (pinned) return ok('hybrid', pinned, algorithm, `${cert.publicKey.alg.id}: both halves verify with pinned certificate "${pinned.name}"`, cert.subject);
  return {
    status: 'untrusted',
    method: 'hybrid',
    signer: cert.subject,
    algorithm,
    reason: `verifies with its own certificate ${cert.subject}, which is not pinned in ${trust.file}`,
  };
}

/**
 * The time of the first RFC 3161 token (RFC 3161 §2.4.2 TSTInfo genTime) that verifies over a signature of the
 * envelope with a trusted time-stamping authority: the token's message imprint is the signature's digest (as
 * Sigstore timestamps a signature), its SignedData verifies with the authority's certificate, whose serial and
 * issuer it names, and the time falls within that certificate's validity.
 */
function timestampOf(doc: SignedDocument, trust: Trust): SignatureCheck['time'] | undefined {
  const { RFC3161Timestamp } = require('@sigstore/core') as typeof import('@sigstore/core');
  for (const token of doc.bundle?.rfc3161Timestamps ?? []) {
    // Sigstore's signedTimestamp is the whole TimeStampResp (RFC 3161 §2.4.2); @sigstore/core reads it lazily and a
    // hostile token throws from its getters, so every read is inside the try.
    let ts: InstanceType<typeof RFC3161Timestamp>;
    let at: Date;
    let serial: Buffer;
    try {
      ts = RFC3161Timestamp.parse(Buffer.from(token));
      at = ts.signingTime;
      serial = ts.signerSerialNumber;
    } catch {
      continue; // an unreadable token dates nothing
    }
    for (const a of trust.timestampAuthorities) {
      const cert = a.certificate;
      if (!serialEquals(serial, cert)) continue;
      if (at.getTime() < new Date(cert.validFrom).getTime() || at.getTime() > new Date(cert.validTo).getTime()) continue;
      for (const s of doc.envelope.signatures) {
        try {
          ts.verify(Buffer.from(s.sig), cert.publicKey);
          return { at: at.toISOString(), source: 'rfc3161', authority: a.name };
        } catch {
          // not over this signature, or not this authority's: try the next
        }
      }
    }
  }
  return undefined;
}

function serialEquals(serial: Buffer, cert: X509Certificate): boolean {
  const strip = (b: Buffer) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.subarray(i);
  };
  return strip(Buffer.from(serial)).equals(strip(Buffer.from(cert.serialNumber.length % 2 ? `0${cert.serialNumber}` : cert.serialNumber, 'hex')));
}

// ---------------------------------------------------------------------------------------------------------------
// Sigstore (offline): @sigstore/verify with the user's trusted root.

type SigstoreVerify = typeof import('@sigstore/verify');
type SigstoreBundleLib = typeof import('@sigstore/bundle');
type ProtobufSpecs = typeof import('@sigstore/protobuf-specs');
let libs: { verify: SigstoreVerify; bundle: SigstoreBundleLib; specs: ProtobufSpecs } | undefined;
const trustMaterials = new WeakMap<object, ReturnType<SigstoreVerify['toTrustMaterial']>>();

function sigstoreLibs() {
  libs ??= {
    verify: require('@sigstore/verify') as SigstoreVerify,
    bundle: require('@sigstore/bundle') as SigstoreBundleLib,
    specs: require('@sigstore/protobuf-specs') as ProtobufSpecs,
  };
  return libs;
}

function checkSigstore(doc: SignedDocument, bundle: SigstoreBundle, trust: Trust): SignatureCheck {
  let leaf: X509Certificate;
  try {
    const m = bundle.material;
    leaf = new X509Certificate(Buffer.from(m.kind === 'certificate' ? m.certificate : m.kind === 'certificate-chain' ? m.certificates[0] : new Uint8Array(0)));
  } catch (e) {
    return { status: 'failed', method: 'sigstore', reason: `the signing certificate is not readable: ${errorMessage(e)}` };
  }
  const algorithm = describeKey(leaf.publicKey);
  const san = leaf.subjectAltName ?? '';
  const time = bundle.tlogTimes[0] ? { at: bundle.tlogTimes[0], source: 'transparency-log' as const } : undefined;
  if (!trust.sigstore) {
    const verifies = signedMessages(doc).some((m) => verifyWithKey(leaf.publicKey, m.message, m.signature));
    return verifies
      ? {
          status: 'untrusted',
          method: 'sigstore',
          signer: san,
          algorithm,
          reason: `Sigstore-signed by ${san}; no Sigstore trusted root in ${trust.file}, so not verified offline`,
        }
      : { status: 'failed', method: 'sigstore', signer: san, algorithm, reason: 'the signature does not verify with its Fulcio certificate' };
  }
  const { verify, bundle: lib, specs } = sigstoreLibs();
  let tm = trustMaterials.get(trust.sigstore.trustedRoot);
  let entity;
  try {
    if (!tm) {
      tm = verify.toTrustMaterial(specs.TrustedRoot.fromJSON(trust.sigstore.trustedRoot));
      trustMaterials.set(trust.sigstore.trustedRoot, tm);
    }
    entity = verify.toSignedEntity(lib.bundleFromJSON(bundle.json));
  } catch (e) {
    return { status: 'failed', method: 'sigstore', signer: san, algorithm, reason: `not a valid Sigstore bundle: ${errorMessage(e)}` };
  }
  const verifier = new verify.Verifier(tm, { tlogThreshold: 1, ctlogThreshold: 1 });
  let signer;
  try {
    signer = verifier.verify(entity);
  } catch (e) {
    return { status: 'failed', method: 'sigstore', signer: san, algorithm, reason: `Sigstore verification failed: ${errorMessage(e)}` };
  }
  const subject = signer.identity?.subjectAlternativeName ?? san;
  const issuer = signer.identity?.extensions?.issuer ?? '';
  const who = `${subject} (issuer ${issuer})`;
  const id = trust.sigstore.identities.find((i) => i.subject === subject && i.issuer === issuer);
  if (!id)
    return {
      status: 'untrusted',
      method: 'sigstore',
      signer: who,
      algorithm,
      reason: `Sigstore-verified, but ${who} is not an identity in ${trust.file}`,
      ...(time ? { time } : {}),
    };
  return { ...ok('sigstore', id, algorithm, `Sigstore-verified identity "${id.name}"`, who), ...(time ? { time } : {}) };
}
