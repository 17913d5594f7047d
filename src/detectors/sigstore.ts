/**
 * Sigstore bundles v0.1–v0.3 (sigstore/protobuf-specs, protos/sigstore_bundle.proto; media types
 * `application/vnd.dev.sigstore.bundle+json;version=0.1|0.2` and `application/vnd.dev.sigstore.bundle.v0.3+json`).
 * verificationMaterial: `x509CertificateChain.certificates[].rawBytes` (v0.1/0.2), `certificate.rawBytes` (v0.3) or
 * `publicKey.hint`; content: `messageSignature {messageDigest, signature}` or `dsseEnvelope`.
 * The signature's algorithm is the signing certificate's key (Fulcio leaves are ECDSA P-256); with only a key hint
 * it comes from the signature's shape when unambiguous, else it is unknown.
 * @module
 */
import { parseDer } from '../pkix/der.js';
import type { Described } from '../catalogue/index.js';
import { catalogue } from '../catalogue/index.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { describeSpki } from '../pkix/algorithm.js';
import { certificateFinding, parseCertificate, sha256Hex, type ParsedCertificate } from '../pkix/certificate.js';
import { arr, base64Bytes, isObject, locator, readJsonDocuments, str, type JsonObject } from './_json.js';
import { describeEnvelope, describeSignatureShape } from './dsse.js';
import type { Detector, DetectResult } from './types.js';
import { rethrowUnlessParseError } from '../errors.js';

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.bundle(\+json;version=(0\.\d+)|\.v(0\.\d+)\+json)/;
/** HashAlgorithm enum of protobuf-specs (sigstore_common.proto). */
const HASHES: Record<string, string> = { SHA2_256: 'SHA-256', SHA2_384: 'SHA-384', SHA2_512: 'SHA-512', SHA3_256: 'SHA3-256', SHA3_384: 'SHA3-384' };

export const sigstoreDetector: Detector = {
  format: 'sigstore',
  description: 'Sigstore bundles v0.1-v0.3: signing certificate or key hint, message signature or DSSE envelope',
  claims: { names: ['*.sigstore', '*.sigstore.json', 'trusted_root.json'], contains: ['application/vnd.dev.sigstore.'] },
  detect: detectSigstore,
};

function detectSigstore(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const annotations: Record<string, string> = {};
  const locate = locator(bytes);
  for (const doc of readJsonDocuments(bytes, ctx)) {
    if (/^application\/vnd\.dev\.sigstore\.trustedroot/.test(str(doc.value.mediaType) ?? '')) {
      trustedRoot(doc.value, doc.offset, ctx, findings, errors, locate);
      continue;
    }
    const m = MEDIA_TYPE.exec(str(doc.value.mediaType) ?? '');
    if (!m) continue;
    const version = m[2] ?? m[3];
    annotations['sigstore.bundleVersion'] = version;
    const vm = isObject(doc.value.verificationMaterial) ? doc.value.verificationMaterial : {};
    const certs: { raw: string; path: string }[] = [];
    if (isObject(vm.x509CertificateChain)) {
      arr(vm.x509CertificateChain.certificates).forEach(
        (c, i) => isObject(c) && str(c.rawBytes) && certs.push({ raw: str(c.rawBytes)!, path: `verificationMaterial.x509CertificateChain.certificates[${i}]` }),
      );
    }
    if (isObject(vm.certificate) && str(vm.certificate.rawBytes)) certs.push({ raw: str(vm.certificate.rawBytes)!, path: 'verificationMaterial.certificate' });
    let leaf: ParsedCertificate | undefined;
    for (const c of certs) {
      const at = locate(c.raw, doc.offset);
      try {
        const cert = parseCertificate(parseDer(base64Bytes(c.raw) ?? new Uint8Array(0)));
        leaf ??= cert;
        findings.push(certificateFinding(cert, 'sigstore', at, c.path));
      } catch (e) {
        rethrowUnlessParseError(e);
        errors.push({ code: 'malformed', message: `${c.path} is not a certificate: ${e.message}`, offset: at });
      }
    }
    const hint = isObject(vm.publicKey) ? str(vm.publicKey.hint) : undefined;
    if (hint !== undefined) annotations['sigstore.publicKeyHint'] = hint;
    const tlog = arr(vm.tlogEntries).length;
    annotations['sigstore.tlogEntries'] = String(tlog);
    const key: Described | undefined = leaf ? { algorithm: { ...leaf.key.algorithm }, quantum: leaf.key.quantum } : undefined;
    if (isObject(doc.value.messageSignature)) {
      findings.push(messageSignatureFinding(doc.value.messageSignature, locate(str(doc.value.messageSignature.signature), doc.offset), key, leaf, hint));
    } else if (isObject(doc.value.dsseEnvelope)) {
      const r = describeEnvelope(doc.value.dsseEnvelope, doc.offset, 'sigstore', key, locate);
      for (const f of r.findings) {
        f.location.path = `dsseEnvelope.${f.location.path}`;
        if (leaf) f.subject = leaf.subject;
      }
      findings.push(...r.findings);
      Object.assign(annotations, r.annotations);
    } else {
      errors.push({ code: 'malformed', message: 'bundle has neither messageSignature nor dsseEnvelope', offset: doc.offset });
    }
  }
  return { findings, errors, annotations };
}

function messageSignatureFinding(
  ms: JsonObject,
  offset: number,
  key: Described | undefined,
  leaf: ParsedCertificate | undefined,
  hint: string | undefined,
): Finding {
  const md = isObject(ms.messageDigest) ? ms.messageDigest : {};
  const hash = HASHES[str(md.algorithm) ?? ''];
  const sig = base64Bytes(str(ms.signature));
  const shape = key ? undefined : sig ? describeSignatureShape(sig) : undefined;
  const d = key ?? shape?.described ?? catalogue().resolve(undefined);
  return {
    kind: 'signature',
    format: 'sigstore',
    algorithm: { ...d.algorithm, ...(hash ? { hash } : {}) },
    quantum: d.quantum,
    location: { offset, path: 'messageSignature' },
    ...(leaf ? { subject: leaf.subject, notBefore: leaf.notBefore, notAfter: leaf.notAfter } : {}),
    ...(hint ? { fingerprint: hint } : {}),
    details: {
      ...(key ? { algorithmFrom: 'signing certificate' } : { algorithmFrom: shape?.from ?? 'not determinable: only a public-key hint' }),
      ...(sig ? { signatureBytes: sig.length } : {}),
    },
  };
}

/**
 * A Sigstore trusted root (protobuf-specs sigstore_trustroot.proto, `application/vnd.dev.sigstore.trustedroot+json`):
 * the Fulcio and TSA certificate chains, and the Rekor and CT log public keys every verifier trusts.
 */
function trustedRoot(
  root: JsonObject,
  offset: number,
  ctx: DetectContext,
  findings: Finding[],
  errors: ErrorEntry[],
  locate: (v: string | undefined, f: number) => number,
): void {
  for (const group of ['certificateAuthorities', 'timestampAuthorities'] as const) {
    arr(root[group]).forEach((ca, i) => {
      if (!isObject(ca) || !isObject(ca.certChain)) return;
      arr(ca.certChain.certificates).forEach((c, j) => {
        const path = `${group}[${i}].certChain.certificates[${j}]`;
        try {
          const cert = parseCertificate(parseDer(base64Bytes(isObject(c) ? str(c.rawBytes) : undefined) ?? new Uint8Array(0)));
          findings.push(certificateFinding(cert, 'sigstore', locate(isObject(c) ? str(c.rawBytes) : undefined, offset), path));
        } catch (e) {
          rethrowUnlessParseError(e);
          errors.push({ code: 'malformed', message: `${path} is not a certificate: ${e.message}`, offset });
        }
      });
    });
  }
  for (const group of ['tlogs', 'ctlogs'] as const) {
    arr(root[group]).forEach((log, i) => {
      if (!isObject(log) || !isObject(log.publicKey)) return;
      const path = `${group}[${i}].publicKey`;
      try {
        const spki = parseDer(base64Bytes(str(log.publicKey.rawBytes)) ?? new Uint8Array(0));
        const key = describeSpki(spki);
        const validFor = isObject(log.publicKey.validFor) ? log.publicKey.validFor : {};
        findings.push({
          kind: 'public-key',
          format: 'sigstore',
          algorithm: key.algorithm,
          quantum: key.quantum,
          location: { offset: locate(str(log.publicKey.rawBytes), offset), path },
          fingerprint: sha256Hex(spki.encoded),
          ...(str(validFor.start) ? { notBefore: str(validFor.start) } : {}),
          ...(str(validFor.end) ? { notAfter: str(validFor.end) } : {}),
          details: { log: str(log.baseUrl), keyDetails: str(log.publicKey.keyDetails) },
        });
      } catch (e) {
        rethrowUnlessParseError(e);
        errors.push({ code: 'malformed', message: `${path} is not a SubjectPublicKeyInfo: ${e.message}`, offset });
      }
    });
  }
}
