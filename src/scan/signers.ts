/**
 * Signers joined to their signatures across one scan: a pass over the whole scan's findings after detection, pure over
 * the results. A signature names its signer by an identifier (an OpenPGP issuer fingerprint or key id, a DSSE/TUF/
 * in-toto/npm/minisign key id or an SSH key fingerprint in `fingerprint`, a CMS IssuerAndSerialNumber or
 * SubjectKeyIdentifier); when a key or certificate with that identifier is anywhere in the scan, the signature links
 * to it (`details.signerRef`: the key's artifact URI and finding id) and, when the signature alone could not give the
 * parameter, takes the key's exact algorithm (`details.parameterFrom: 'joined-key'`). A signature that names a signer
 * not in the scan says so (`details.signerInScan: false`). Certificates are joined to the certificate of their issuer
 * the same way (the issuer's key sizes `details.signatureAlgorithm`).
 *
 * A signature that names no key at all (a cosign signature made with a key) is joined the same way once a key of the
 * scan verifies it (joinVerifiedSigner, called by src/scan/coverage.ts, which holds the keys and the signed bytes).
 *
 * This is the signer → key relation only; which files a signature covers is a different relation (vouching.ts).
 * @module
 */
import type { Described } from '../catalogue/index.js';
import { findingId } from '../identity.js';
import type { ArtifactResult, Finding } from '../model.js';

/** Where a signer was found: the artifact and the finding's identity (src/identity.ts). */
export interface SignerRef {
  uri: string;
  finding: string;
}

interface KeyEntry {
  artifact: ArtifactResult;
  finding: Finding;
}

const KEY_KINDS = new Set<Finding['kind']>(['public-key', 'private-key', 'certificate']);

/** Hex identifiers compare case-insensitively and without separators (`AB:CD` = `abcd`). */
function norm(id: string): string {
  return /^[0-9a-fA-F:\s]+$/.test(id) ? id.replace(/[:\s]/g, '').toLowerCase() : id;
}

/** The identifiers a key or certificate answers to. */
function keyIds(f: Finding): string[] {
  const ids: string[] = [];
  if (f.fingerprint) ids.push(`id:${norm(f.fingerprint)}`);
  const d = f.details ?? {};
  for (const k of ['keyId', 'keyid'] as const) if (typeof d[k] === 'string') ids.push(`id:${norm(d[k])}`);
  if (Array.isArray(d.keyIds)) for (const k of d.keyIds) if (typeof k === 'string') ids.push(`id:${norm(k)}`);
  if (f.kind === 'certificate') {
    if (f.issuer !== undefined && f.serial) ids.push(`issuer-serial:${f.issuer}\0${norm(f.serial)}`);
    if (typeof d.subjectKeyId === 'string') ids.push(`ski:${norm(d.subjectKeyId)}`);
    if (f.subject !== undefined) ids.push(`subject:${f.subject}`);
  }
  return ids;
}

/** The identifiers a signature names its signer by; empty when it names none. */
function signerIds(f: Finding): string[] {
  const d = f.details ?? {};
  const ids: string[] = [];
  if (f.format === 'openpgp') {
    if (typeof d.issuerFingerprint === 'string') ids.push(`id:${norm(d.issuerFingerprint)}`);
    if (typeof d.issuerKeyId === 'string') ids.push(`id:${norm(d.issuerKeyId)}`);
    return ids;
  }
  if (typeof d.signerIdentifier === 'string') {
    // CMS SignerIdentifier as the cms walker writes it: `issuer:<name>;serial:<hex>` or `subjectKeyIdentifier:<hex>`.
    const m = d.signerIdentifier.match(/^issuer:(.*);serial:([0-9a-f]+)$/s);
    if (m) ids.push(`issuer-serial:${m[1]}\0${m[2]}`);
    const s = d.signerIdentifier.match(/^subjectKeyIdentifier:([0-9a-f]+)$/);
    if (s) ids.push(`ski:${s[1]}`);
    return ids;
  }
  // A JWS/COSE signature made by the leaf of its x5c/x5chain names that certificate by its SHA-256 fingerprint.
  if (typeof d.signerCertificate === 'string' && d.signerCertificate) ids.push(`id:${norm(d.signerCertificate)}`);
  for (const k of ['keyid', 'signerKeyId'] as const) if (typeof d[k] === 'string' && d[k]) ids.push(`id:${norm(d[k])}`);
  // Key-named signatures (DSSE, npm, minisign, SSHSIG, TUF) carry the signer's key id in `fingerprint`.
  if (f.fingerprint) ids.push(`id:${norm(f.fingerprint)}`);
  return ids;
}

/** Can `key` have made a signature described as `sig`? Same family, and the same parameter when the signature knows it. */
function compatible(sig: Finding['algorithm'], key: Finding['algorithm']): boolean {
  // A bare signature whose bytes name no algorithm (a TUF or DSSE `sig`) is whatever its key is.
  if (sig.id === 'unknown') return key.family !== 'unknown';
  if (sig.family !== key.family) return false;
  if (sig.parameterKnown === false || key.parameterKnown === false) return true;
  return sig.id === key.id;
}

/** OpenPGP key ids are the low (v4) or high (v6) 64 bits of the fingerprint (RFC 9580 §5.5.4): index both. */
function openPgpShortIds(f: Finding): string[] {
  if (f.format !== 'openpgp' || !f.fingerprint) return [];
  const fp = norm(f.fingerprint);
  return fp.length === 40 ? [`id:${fp.slice(-16)}`] : fp.length === 64 ? [`id:${fp.slice(0, 16)}`] : [];
}

/**
 * Join every signature of the scan to its signer. Mutates the findings in place (before scoring, so a joined size
 * scores like a declared one). Idempotent: a second pass gives the same result.
 */
export function joinSigners(artifacts: ArtifactResult[]): void {
  const index = new Map<string, KeyEntry[]>();
  for (const artifact of artifacts) {
    for (const finding of artifact.findings) {
      if (!KEY_KINDS.has(finding.kind)) continue;
      for (const id of [...keyIds(finding), ...openPgpShortIds(finding)]) {
        const list = index.get(id) ?? [];
        if (list.length < 64) list.push({ artifact, finding });
        index.set(id, list);
      }
    }
  }
  if (index.size === 0) {
    for (const a of artifacts) for (const f of a.findings) if (f.kind === 'signature' && signerIds(f).length && !f.details?.signerRef) markAbsent(f);
    return;
  }
  for (const artifact of artifacts) {
    for (const f of artifact.findings) {
      if (f.kind === 'signature') joinSignature(f, index);
      else if (f.kind === 'certificate') joinIssuer(f, index);
    }
    joinLayerCertificates(artifact);
  }
}

/** The OCI signature layer a finding was read from (`<manifest>/layers[i]/<blob or annotation>`), if any. */
export function ociLayerOf(f: Finding): string | undefined {
  return f.location.member?.match(/^(.+\/layers\[\d+\])\/[^/]+$/)?.[1];
}

/**
 * An OCI signature layer's annotations belong to its blob: cosign attaches the signer's certificate to an attestation
 * layer (`dev.sigstore.cosign/certificate`) whose DSSE envelope names no key, and to a keyless signature layer. A
 * signature there that names no signer and lacks its parameter takes the signer's certificate of the same layer (the
 * `certificate` annotation, else the layer's only certificate): cosign verifies the signature with it.
 */
function joinLayerCertificates(artifact: ArtifactResult): void {
  const certs = new Map<string, Finding[]>();
  for (const f of artifact.findings) {
    const layer = f.kind === 'certificate' ? ociLayerOf(f) : undefined;
    if (layer) certs.set(layer, [...(certs.get(layer) ?? []), f]);
  }
  if (!certs.size) return;
  for (const f of artifact.findings) {
    if (f.kind !== 'signature' || signerIds(f).length || (f.algorithm.parameterKnown !== false && f.algorithm.id !== 'unknown')) continue;
    const layer = ociLayerOf(f);
    const here = layer ? (certs.get(layer) ?? []) : [];
    // The signer's own certificate (the `certificate` annotation, src/sources/oci.ts) before its chain's.
    const leaf = here.filter((c) => /\/certificate\.pem$/.test(c.location.member ?? ''));
    const cert = leaf.length === 1 ? leaf[0] : here.length === 1 ? here[0] : undefined;
    if (!cert || !compatible(f.algorithm, cert.algorithm) || cert.algorithm.parameterKnown === false) continue;
    const { parameterKnown: _unknown, ...rest } = f.algorithm;
    f.algorithm = { ...rest, id: cert.algorithm.id, family: cert.algorithm.family };
    f.quantum = { ...cert.quantum };
    f.details = { ...(f.details ?? {}), parameterFrom: 'certificate', signerInScan: true, signerRef: refOf({ artifact, finding: cert }) };
  }
}

/**
 * A signature that names no signer, verified with a key found in the scan (src/scan/coverage.ts: a cosign signature
 * made with a key, over its payload or beside a file): the join by verification. It links to the key's finding (the
 * one with the key's fingerprint in the artifact it was read from) and takes the key's exact algorithm
 * (`parameterFrom: 'joined-key'`), keeping its own hash.
 */
export function joinVerifiedSigner(f: Finding, signer: { artifact: ArtifactResult; fingerprint: string }, key: Described): void {
  const keys = signer.artifact.findings.filter((k) => KEY_KINDS.has(k.kind));
  const found = keys.find((k) => k.fingerprint === signer.fingerprint) ?? keys.find((k) => k.algorithm.id === key.algorithm.id);
  const { name, hash } = f.algorithm;
  f.algorithm = { ...key.algorithm, ...(name ? { name } : {}), ...((hash ?? key.algorithm.hash) ? { hash: hash ?? key.algorithm.hash } : {}) };
  f.quantum = { ...key.quantum };
  f.details = {
    ...(f.details ?? {}),
    parameterFrom: 'joined-key',
    signerInScan: true,
    ...(found ? { signerRef: refOf({ artifact: signer.artifact, finding: found }) } : {}),
  };
}

/** Its signer is not in the scan (no key with the identifier it names, or none that verifies it). */
export function markAbsent(f: Finding): void {
  const { signerRef: _ref, ...rest } = f.details ?? {};
  f.details = { ...rest, signerInScan: false };
}

function candidatesFor(ids: string[], index: Map<string, KeyEntry[]>, self: Finding): KeyEntry[] {
  for (const id of ids) {
    const hits = (index.get(id) ?? []).filter((e) => e.finding !== self);
    if (hits.length) return hits;
  }
  return [];
}

function joinSignature(f: Finding, index: Map<string, KeyEntry[]>): void {
  const ids = signerIds(f);
  // Joined already by verification (joinVerifiedSigner): the key that verified it is its signer, whatever id it names.
  if (!ids.length || (f.details?.signerInScan === true && f.details.signerRef)) return;
  const hits = candidatesFor(ids, index, f).filter((e) => e.finding.kind !== 'certificate' || e.finding.algorithm.family !== 'unknown');
  const fitting = hits.filter((e) => compatible(f.algorithm, e.finding.algorithm));
  if (!fitting.length) {
    markAbsent(f);
    return;
  }
  // Several copies of one key (a keyring and a release's key file) are one signer; prefer the exactly sized one.
  const best = fitting.find((e) => e.finding.algorithm.parameterKnown !== false) ?? fitting[0];
  const key = best.finding.algorithm;
  const details: Record<string, unknown> = { ...(f.details ?? {}), signerInScan: true, signerRef: refOf(best) };
  if ((f.algorithm.parameterKnown === false || f.algorithm.id === 'unknown') && key.parameterKnown !== false) {
    const { parameterKnown: _unknown, ...rest } = f.algorithm;
    f.algorithm = { ...rest, id: key.id, family: key.family };
    f.quantum = { ...best.finding.quantum };
    details.parameterFrom = 'joined-key';
  }
  f.details = details;
}

/** A certificate whose signature algorithm lacks the size: its issuer's certificate elsewhere in the scan gives it. */
function joinIssuer(f: Finding, index: Map<string, KeyEntry[]>): void {
  const d = f.details ?? {};
  if (d.selfSigned === true || f.issuer === undefined || f.issuer === f.subject) return;
  const sigAlg = d.signatureAlgorithm as Finding['algorithm'] | undefined;
  if (!sigAlg || typeof sigAlg !== 'object' || typeof sigAlg.family !== 'string') return;
  const ids = typeof d.authorityKeyId === 'string' ? [`ski:${norm(d.authorityKeyId)}`, `subject:${f.issuer}`] : [`subject:${f.issuer}`];
  const hits = candidatesFor(ids, index, f).filter((e) => e.finding.kind === 'certificate' && compatible(sigAlg, e.finding.algorithm));
  // Different keys under one issuer name (a re-keyed CA) cannot be told apart without the AKI: no join then.
  const keys = new Set(hits.map((e) => e.finding.algorithm.id));
  if (hits.length === 0 || keys.size > 1) return;
  const best = hits[0];
  const next: Record<string, unknown> = { ...d, signerRef: refOf(best) };
  if (sigAlg.parameterKnown === false && best.finding.algorithm.parameterKnown !== false) {
    const { parameterKnown: _unknown, ...rest } = sigAlg;
    next.signatureAlgorithm = { ...rest, id: best.finding.algorithm.id };
    next.signatureQuantum = { ...best.finding.quantum };
    next.signatureParameterFrom = 'joined-key';
  }
  f.details = next;
}

function refOf(e: KeyEntry): SignerRef {
  return { uri: e.artifact.uri, finding: findingId(e.artifact, e.finding) };
}
