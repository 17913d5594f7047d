/**
 * npm registry signatures in package metadata (docs.npmjs.com "About ECDSA registry signatures"; the registry's
 * public keys are published at /-/npm/v1/keys and as the TUF target `registry.npmjs.org/keys.json`):
 * `dist.signatures: [{keyid, sig}]` in a version document or in each `versions.<v>` of a packument, an ECDSA P-256
 * signature over `<name>@<version>:<integrity>`; and `dist.attestations: {url, provenance: {predicateType}}`
 * (Sigstore provenance, fetched separately: recorded as an annotation). The registry key document itself
 * (`{keys: [{keyId, keyUsage, publicKey: {rawBytes, keyDetails}}]}`) yields its public keys.
 * @module
 */
import { parseDer } from '../pkix/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { describeSpki } from '../pkix/algorithm.js';
import { sha256Hex } from '../pkix/certificate.js';
import { arr, base64Bytes, isObject, locator, readJsonDocuments, str, type JsonObject } from './_json.js';
import { describeSignatureShape } from './dsse.js';
import type { Detector, DetectResult } from './types.js';
import { rethrowUnlessParseError } from '../errors.js';

/**
 * The npm registry's signing keys as published in keys.json (TUF target in @sigstore/tuf 4.0.2 seeds.json, vendored
 * in fixtures/packages/realworld/npm-keys.json): both are PKIX_ECDSA_P256_SHA_256.
 */
const NPM_REGISTRY_KEYS: Record<string, string> = {
  'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA': 'ECDSA-P256',
  'SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U': 'ECDSA-P256',
};

export const npmDetector: Detector = {
  format: 'npm',
  description: 'npm registry signatures (dist.signatures, ECDSA P-256), provenance attestations and registry keys',
  claims: { names: ['keys.json'], contains: ['"signatures"', '"attestations"', '"keyUsage"'] },
  detect: detectNpm,
};

function detectNpm(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const annotations: Record<string, string> = {};
  const locate = locator(bytes);
  for (const doc of readJsonDocuments(bytes, ctx)) {
    const versions: [string, JsonObject][] = [];
    if (isObject(doc.value.dist)) versions.push([str(doc.value.version) ?? '', doc.value]);
    if (isObject(doc.value.versions)) for (const [v, d] of Object.entries(doc.value.versions)) if (isObject(d) && isObject(d.dist)) versions.push([v, d]);
    const attested: string[] = [];
    for (const [version, d] of versions.slice(0, MAX_OBJECTS_PER_ARTIFACT)) {
      const dist = d.dist as JsonObject;
      arr(dist.signatures).forEach((s, i) => {
        if (!isObject(s)) return;
        const keyid = str(s.keyid) ?? '';
        const sig = base64Bytes(str(s.sig));
        const known = NPM_REGISTRY_KEYS[keyid];
        const shape = known ? undefined : sig ? describeSignatureShape(sig) : undefined;
        const desc: Described = known ? catalogue().byId(known, { hash: 'SHA-256' }) : (shape?.described ?? catalogue().resolve(undefined));
        findings.push({
          kind: 'signature',
          format: 'npm',
          algorithm: desc.algorithm,
          quantum: desc.quantum,
          location: { offset: locate(str(s.sig), doc.offset), path: `${version ? `versions.${version}.` : ''}dist.signatures[${i}]` },
          fingerprint: keyid,
          details: {
            package: `${str(d.name) ?? ''}@${version}`,
            algorithmFrom: known ? 'npm registry key' : (shape?.from ?? 'not determinable: unknown key id'),
          },
        });
      });
      if (isObject(dist.attestations)) {
        const prov = isObject(dist.attestations.provenance) ? str(dist.attestations.provenance.predicateType) : undefined;
        attested.push(`${version}${prov ? ` ${prov}` : ''}`);
      }
    }
    if (attested.length) annotations['npm.attestations'] = attested.join(', ');
    // The registry's key document: one entry per (key, usage); one finding per key, with all its usages.
    const seenKeys = new Map<string, Finding>();
    for (const [i, k] of arr(doc.value.keys).entries()) {
      if (!isObject(k) || !isObject(k.publicKey) || !str(k.keyUsage)?.startsWith('npm:')) continue;
      const rawText = str(k.publicKey.rawBytes);
      const usage = str(k.keyUsage)!;
      const validFor = isObject(k.publicKey.validFor) ? k.publicKey.validFor : {};
      const same = seenKeys.get(`${str(k.keyId)}|${rawText}`);
      if (same) {
        (same.details!.keyUsage as string[]).push(usage);
        same.details!.validFor = { ...(same.details!.validFor as object), [usage]: { start: str(validFor.start), end: str(validFor.end) } };
        continue;
      }
      try {
        const spki = parseDer(base64Bytes(rawText) ?? new Uint8Array(0));
        const key = describeSpki(spki);
        const f: Finding = {
          kind: 'public-key',
          format: 'npm',
          algorithm: key.algorithm,
          quantum: key.quantum,
          location: { offset: locate(rawText, doc.offset), path: `keys[${i}]` },
          fingerprint: str(k.keyId) ?? sha256Hex(spki.encoded),
          ...(str(validFor.start) ? { notBefore: str(validFor.start) } : {}),
          ...(str(validFor.end) ? { notAfter: str(validFor.end) } : {}),
          details: {
            keyUsage: [usage],
            keyDetails: str(k.publicKey.keyDetails),
            validFor: { [usage]: { start: str(validFor.start), end: str(validFor.end) } },
          },
        };
        seenKeys.set(`${str(k.keyId)}|${rawText}`, f);
        findings.push(f);
      } catch (e) {
        rethrowUnlessParseError(e);
        errors.push({
          code: 'malformed',
          message: `keys[${i}].publicKey is not a SubjectPublicKeyInfo: ${e.message}`,
          offset: doc.offset,
        });
      }
    }
  }
  return { findings, errors, annotations };
}
