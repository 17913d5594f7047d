/**
 * cosign / containers "simple signing" payloads (containers-signature(5); sigstore/cosign specs/SIGNATURE_SPEC.md):
 * `{critical: {identity: {docker-reference}, image: {docker-manifest-digest}, type}, optional}`. The payload is what
 * gets signed; it holds no signature itself, so it yields annotations (what image, which digest) and no finding.
 * Also cosign's legacy blob bundle (`cosign sign-blob --bundle`: `{base64Signature, cert, rekorBundle}`), whose
 * signature takes the algorithm of its certificate's key. The OCI source hands an image's cosign signature annotation
 * to this detector as such a document with the payload blob it signs (`payloadDigest`); a key in the scan that
 * verifies it over that payload sizes it later (src/scan/coverage.ts).
 * @module
 */
import type { Described } from '../catalogue/index.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { certificateFinding, parseCertificate, type ParsedCertificate } from '../pkix/certificate.js';
import { findPemBlocks } from '../pkix/pem.js';
import { parseDer } from '../pkix/der.js';
import { base64Bytes, isObject, readJsonDocuments, str } from './_json.js';
import { describeSignatureShape } from './dsse.js';
import { catalogue } from '../catalogue/index.js';
import { rsaFromOctets, type ParameterFrom } from '../catalogue/infer.js';
import type { Detector, DetectResult } from './types.js';
import { rethrowUnlessParseError } from '../errors.js';

export const cosignDetector: Detector = {
  format: 'cosign',
  description: 'cosign simple-signing payloads (image reference and manifest digest) and cosign blob bundles',
  claims: { names: ['*.cosign.bundle'], contains: ['"docker-manifest-digest"', '"base64Signature"'] },
  detect: detectCosign,
};

function detectCosign(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const annotations: Record<string, string> = {};
  for (const doc of readJsonDocuments(bytes, ctx)) {
    const v = doc.value;
    if (isObject(v.critical)) {
      const c = v.critical;
      const ref = isObject(c.identity) ? str(c.identity['docker-reference']) : undefined;
      const digest = isObject(c.image) ? str(c.image['docker-manifest-digest']) : undefined;
      if (ref !== undefined) annotations['cosign.dockerReference'] = ref;
      if (digest !== undefined) annotations['cosign.manifestDigest'] = digest;
      if (str(c.type)) annotations['cosign.type'] = str(c.type)!;
    }
    if (typeof v.base64Signature === 'string') {
      let leaf: ParsedCertificate | undefined;
      const pem = base64Bytes(str(v.cert));
      if (pem) {
        for (const block of findPemBlocks(pem, (l) => l === 'CERTIFICATE')) {
          try {
            const cert = parseCertificate(parseDer(block.der));
            leaf ??= cert;
            findings.push(certificateFinding(cert, 'cosign', doc.offset, 'cert'));
          } catch (e) {
            rethrowUnlessParseError(e);
            errors.push({ code: 'malformed', message: `cert is not a certificate: ${e.message}`, offset: doc.offset });
          }
        }
      }
      const sig = base64Bytes(v.base64Signature);
      const payloadDigest = str(v.payloadDigest)?.match(/^sha256:[0-9a-f]{64}$/) ? str(v.payloadDigest) : undefined;
      const shape = leaf || !sig ? undefined : describeCosignSignature(sig);
      const d: Described = leaf ? { algorithm: { ...leaf.key.algorithm }, quantum: leaf.key.quantum } : (shape?.described ?? catalogue().resolve(undefined));
      findings.push({
        kind: 'signature',
        format: 'cosign',
        algorithm: d.algorithm,
        quantum: d.quantum,
        location: { offset: doc.offset, path: 'base64Signature' },
        ...(leaf ? { subject: leaf.subject } : {}),
        details: {
          algorithmFrom: leaf ? 'certificate' : (shape?.from ?? 'not determinable without the key'),
          ...(shape?.parameterFrom ? { parameterFrom: shape.parameterFrom } : {}),
          ...(sig ? { signatureBytes: sig.length } : {}),
          // The simple-signing payload an OCI signature layer signs (src/sources/oci.ts names it): what a key in the
          // scan is verified over to join the signature to its signer (src/scan/coverage.ts).
          ...(payloadDigest ? { payloadDigest } : {}),
          rekorBundle: isObject(v.rekorBundle),
        },
      });
    }
  }
  return { findings, errors, annotations };
}

/**
 * What a cosign signature's bytes prove without its key. cosign signs with ECDSA (an ASN.1 DER Ecdsa-Sig-Value), RSA
 * (PKCS #1 v1.5 or PSS: I2OSP(s, k), exactly as long as the modulus, RFC 8017 §8.2.1 / §8.1.1) or Ed25519 (64 bytes,
 * RFC 8032 §5.1.6), and records no algorithm (sigstore/cosign specs/SIGNATURE_SPEC.md). So: the DER or ML-DSA shape
 * (describeSignatureShape); else a value of a whole RSA modulus size (a multiple of 256 bits from 768 up) is that RSA
 * key's signature; anything else (a 64-byte Ed25519 or raw P-256 r‖s among them) stays unknown.
 */
function describeCosignSignature(sig: Uint8Array): { described: Described; from: string; parameterFrom?: ParameterFrom } | undefined {
  const shape = describeSignatureShape(sig);
  if (shape) return shape;
  if (sig.length < 96 || sig.length % 32 !== 0) return undefined;
  const inferred = rsaFromOctets({ family: 'RSA' }, sig.length, 'signature-length');
  return {
    described: inferred,
    from: `not DER ECDSA, Ed25519 or ML-DSA: a ${sig.length}-byte value, an RSA signature as long as its modulus (RFC 8017 §8.2.1)`,
    ...(inferred.parameterFrom ? { parameterFrom: inferred.parameterFrom } : {}),
  };
}
