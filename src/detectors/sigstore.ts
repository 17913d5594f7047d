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
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.bundle(\+json;version=(0\.\d+)|\.v(0\.\d+)\+json)/;
/** HashAlgorithm enum of protobuf-specs (sigstore_common.proto). */
const HASHES: Record<string, string> = { SHA2_256: 'SHA-256', SHA2_384: 'SHA-384', SHA2_512: 'SHA-512', SHA3_256: 'SHA3-256', SHA3_384: 'SHA3-384' };

export const sigstoreDetector: Detector = {
  format: 'sigstore',
  description: 'Sigstore bundles v0.1-v0.3 (certificate or key hint, signature or DSSE envelope, log SETs and checkpoints), trusted roots, signing configs',
  claims: { names: ['*.sigstore', '*.sigstore.json', 'trusted_root.json', 'signing_config*.json'], contains: ['application/vnd.dev.sigstore.'] },
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
      annotations['sigstore.trustMaterial'] = 'trusted-root';
      continue;
    }
    const config = SIGNING_CONFIG.exec(str(doc.value.mediaType) ?? '');
    if (config) {
      Object.assign(annotations, signingConfig(doc.value, config[1]));
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
    arr(vm.tlogEntries)
      .slice(0, MAX_OBJECTS_PER_ARTIFACT)
      .forEach((t, i) => isObject(t) && findings.push(...tlogEntryFindings(t, `verificationMaterial.tlogEntries[${i}]`, doc.offset, locate)));
    const key: Described | undefined = leaf ? { algorithm: { ...leaf.key.algorithm }, quantum: leaf.key.quantum } : undefined;
    if (isObject(doc.value.messageSignature)) {
      findings.push(messageSignatureFinding(doc.value.messageSignature, locate(str(doc.value.messageSignature.signature), doc.offset), key, leaf, hint));
    } else if (isObject(doc.value.dsseEnvelope)) {
      const r = describeEnvelope(doc.value.dsseEnvelope, doc.offset, 'sigstore', key, locate);
      for (const f of r.findings) {
        f.location.path = `dsseEnvelope.${f.location.path}`;
        if (leaf && f.kind === 'signature') {
          f.subject = leaf.subject;
          // Made by the bundle's signing certificate: the scan's signer join links it (details.signerRef).
          f.details = { ...f.details, signerCertificate: sha256Hex(leaf.node.encoded) };
        }
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
      ...(leaf ? { signerCertificate: sha256Hex(leaf.node.encoded) } : {}),
      ...(sig ? { signatureBytes: sig.length } : {}),
    },
  };
}

/** protobuf-specs sigstore_trustroot.proto SigningConfig: `…signingconfig.v0.2+json` (and v0.1). */
const SIGNING_CONFIG = /^application\/vnd\.dev\.sigstore\.signingconfig\.v(0\.\d+)\+json/;
/** Services a signing config names (v0.2 lists of Service; v0.1 single `caUrl`/`oidcUrl` and `tlogUrls`/`tsaUrls`). */
const SERVICES: Record<string, readonly string[]> = {
  ca: ['caUrls', 'caUrl'],
  oidc: ['oidcUrls', 'oidcUrl'],
  tlog: ['rekorTlogUrls', 'tlogUrls'],
  tsa: ['tsaUrls'],
};
const MAX_SERVICES = 16;

/**
 * A Sigstore signing config says where a signer gets its certificate, identity token, log entry and timestamp (the
 * Fulcio, OIDC, Rekor and TSA URLs with their API versions and validity windows). It holds no key, certificate or
 * signature: nothing in it is a finding. What it holds is trust configuration, recorded as annotations on the
 * artifact (the services per role, the log and TSA selectors) and marked as trust material for classification.
 */
function signingConfig(doc: JsonObject, version: string): Record<string, string> {
  const out: Record<string, string> = { 'sigstore.signingConfig': version, 'sigstore.trustMaterial': 'signing-config' };
  for (const [role, keys] of Object.entries(SERVICES)) {
    const urls: string[] = [];
    for (const k of keys) {
      const v = doc[k];
      for (const s of (Array.isArray(v) ? v : [v]).slice(0, MAX_SERVICES)) {
        const url = typeof s === 'string' ? s : isObject(s) ? str(s.url) : undefined;
        if (!url) continue;
        const api = isObject(s) && typeof s.majorApiVersion === 'number' ? ` (v${s.majorApiVersion})` : '';
        urls.push(`${url.slice(0, 256)}${api}`);
      }
    }
    if (urls.length) out[`sigstore.${role}`] = urls.join(' ');
  }
  for (const k of ['rekorTlogConfig', 'tsaConfig'] as const) {
    const sel = isObject(doc[k]) ? str((doc[k] as JsonObject).selector) : undefined;
    if (sel) out[`sigstore.${k}`] = sel.slice(0, 32);
  }
  return out;
}

/**
 * What the log signed about one entry of a bundle (protobuf-specs sigstore_rekor.proto TransparencyLogEntry):
 * - the inclusion promise's signed entry timestamp (SET): the log key's signature over the entry (rekor
 *   pkg/api/entries.go; ECDSA P-256 for Rekor public-good), named by `logId.keyId`, the SHA-256 of the log key's DER,
 *   which the scan's signer join matches against a trusted root's tlog keys (`fingerprint` of those findings);
 * - the inclusion proof's checkpoint, a signed note (C2SP signed-note: `— <name> base64(keyHash[4] || signature)`),
 *   one finding per signature line; Rekor's 4-byte key hash is the start of the same SHA-256, so a line whose hash
 *   matches `logId` is named by it too.
 * Without the log key in the scan the curve is unknown: r and s never name one (family ECDSA, `parameterKnown: false`).
 */
function tlogEntryFindings(t: JsonObject, path: string, offset: number, locate: (v: string | undefined, f: number) => number): Finding[] {
  const out: Finding[] = [];
  const logId = isObject(t.logId) ? base64Bytes(str(t.logId.keyId)) : undefined;
  const logIdHex = logId?.length ? Buffer.from(logId).toString('hex') : undefined;
  const integrated = Number(str(t.integratedTime) ?? t.integratedTime);
  const created = Number.isSafeInteger(integrated) && integrated > 0 && integrated < 253402300800 ? new Date(integrated * 1000).toISOString() : undefined;
  const logIndex = str(t.logIndex) ?? (typeof t.logIndex === 'number' ? String(t.logIndex) : undefined);
  const kind = isObject(t.kindVersion) ? str(t.kindVersion.kind) : undefined;
  const signature = (sig: Uint8Array, where: string, at: number, fingerprint: string | undefined, details: Record<string, unknown>): Finding => {
    const d = describeSignatureShape(sig)?.described ?? catalogue().resolve(undefined);
    return {
      kind: 'signature',
      format: 'sigstore',
      algorithm: d.algorithm,
      quantum: d.quantum,
      location: { offset: at, path: where },
      ...(fingerprint ? { fingerprint } : {}),
      ...(created ? { created } : {}),
      details: { ...details, ...(logIndex ? { logIndex } : {}), ...(kind ? { entryKind: kind } : {}), signatureBytes: sig.length },
    };
  };
  const promise = isObject(t.inclusionPromise) ? str(t.inclusionPromise.signedEntryTimestamp) : undefined;
  const set = base64Bytes(promise);
  if (set?.length)
    out.push(signature(set, `${path}.inclusionPromise.signedEntryTimestamp`, locate(promise, offset), logIdHex, { role: 'signed-entry-timestamp' }));
  const proof = isObject(t.inclusionProof) && isObject(t.inclusionProof.checkpoint) ? str(t.inclusionProof.checkpoint.envelope) : undefined;
  if (proof) {
    const [text, sigs] = proof.split('\n\n', 2);
    const [origin, treeSize] = text.split('\n');
    (sigs ?? '')
      .split('\n')
      .slice(0, MAX_OBJECTS_PER_ARTIFACT)
      .forEach((line, j) => {
        // C2SP signed-note: an em dash, a space, the key name, a space, base64(4-byte key hash || signature).
        const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
        const raw = m ? base64Bytes(m[2]) : undefined;
        if (!m || !raw || raw.length <= 4) return;
        const hint = Buffer.from(raw.subarray(0, 4)).toString('hex');
        out.push(
          signature(
            raw.subarray(4),
            `${path}.inclusionProof.checkpoint.signatures[${j}]`,
            locate(m[2], offset),
            logIdHex?.startsWith(hint) ? logIdHex : undefined,
            {
              role: 'checkpoint',
              keyName: m[1].slice(0, 256),
              keyHint: hint,
              ...(origin ? { origin: origin.slice(0, 256) } : {}),
              ...(treeSize && /^\d+$/.test(treeSize) ? { treeSize } : {}),
            },
          ),
        );
      });
  }
  return out;
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
