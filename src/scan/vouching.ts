/**
 * How a release-store artifact is vouched for (docs/release-stores.md), decided from what the detectors found, never
 * from file names: `signed` (its own signature), `covered` (listed by a signed index, whose signatures become its
 * findings), `unsigned`, or `index-unsigned` (listed by an index nobody signed). The chain's signatures are reported on
 * every covered artifact (location.member names the index), and the weakest hash on the way down replaces the
 * signature's own when it is weaker, so the scoring policies that flag collision-broken hashes
 * (rules/policies/classical-weakness.yaml) apply to an MD5/SHA-1-only list as they should. Pure: the engine detects.
 * @module
 */
import type { ArtifactCoverage, ErrorEntry, Finding } from '../model.js';
import { weaker } from '../sources/hashes.js';
import type { ArtifactRef, Vouching } from '../sources/types.js';

/** apt refuses RSA keys below 3072 bits from this date (apt 2.9.x/3.0 "weak key" policy, Debian trixie release notes). */
export const APT_RSA_CUTOFF = '2030-02-01';

/**
 * The findings a covered artifact carries: each chain signature, located at the index that signs it, with the
 * weakest hash on the way down (signature digest, index → sub-index hash, sub-index → artifact hash).
 */
export function chainFindings(index: { name: string; signatures: Finding[] }, linkHashes: (string | undefined)[], apt = false): Finding[] {
  const linkWeakest = linkHashes.reduce<string | undefined>((w, h) => weaker(w, h), undefined);
  return index.signatures.map((s) => {
    const own = s.algorithm.hash;
    const weakest = weaker(own, linkWeakest);
    const details: Record<string, unknown> = { ...(s.details ?? {}), coverage: 'covered', index: index.name };
    if (weakest && weakest !== own) details.chainHash = weakest;
    if (apt && s.algorithm.family === 'RSA') {
      const bits = Number(s.algorithm.id.replace(/^RSA-/, ''));
      if (Number.isFinite(bits) && bits < 3072) details.aptRefusesFrom = APT_RSA_CUTOFF;
    }
    return { ...s, algorithm: { ...s.algorithm, ...(weakest ? { hash: weakest } : {}) }, location: { ...s.location, member: index.name }, details };
  });
}

/**
 * Signatures made by a key that has expired: clients reject them (RFC 9580 §5.2.3.13: a key is not valid after its
 * expiration time). Keys are matched to signatures by fingerprint or key id.
 */
export function expiredSigningKeys(signatures: Finding[], keys: Finding[], now: Date, signed = 'signed'): ErrorEntry[] {
  const errors: ErrorEntry[] = [];
  for (const s of signatures) {
    const issuer = String(s.details?.issuerFingerprint ?? s.issuer ?? s.details?.issuerKeyId ?? '').toLowerCase();
    if (!issuer) continue;
    const key = keys.find((k) => {
      const fp = String(k.fingerprint ?? '').toLowerCase();
      return fp && (fp === issuer || fp.endsWith(issuer));
    });
    if (key?.notAfter && Date.parse(key.notAfter) < now.getTime())
      errors.push({
        code: 'malformed',
        message: `${signed} by key ${issuer} which expired on ${key.notAfter.slice(0, 10)}; clients reject it`,
        source: 'source',
      });
  }
  return errors;
}

export interface Vouched {
  coverage: ArtifactCoverage;
  findings: Finding[];
  errors: ErrorEntry[];
  /** For each of `findings`: the object holding that signature and the index it signs (for `signedBy`, via `index`). */
  from: { uri: string; index: string }[];
}

/**
 * Coverage, chain findings and key errors for one artifact. `own`: the signature findings on the artifact itself (its
 * bytes and attached objects); `detect`: the findings in an in-memory object (the engine caches them, so an index's
 * signatures are parsed once for the thousands of files it lists).
 */
export function vouch(v: Vouching, own: Finding[], detect: (ref: ArtifactRef) => Finding[], now: Date): Vouched {
  const errors: ErrorEntry[] = [];
  const findings: Finding[] = [];
  const from: Vouched['from'] = [];
  const keysIn = (refs: ArtifactRef[] | undefined) => (refs ?? []).flatMap(detect).filter((f) => f.kind === 'public-key' || f.kind === 'certificate');
  if (v.keys?.length && own.length) errors.push(...expiredSigningKeys(own, keysIn(v.keys), now));
  let coverage: ArtifactCoverage = own.length ? 'signed' : 'unsigned';
  if (v.chains?.length) {
    let vouched = false;
    for (const chain of v.chains) {
      const held = chain.signatures.flatMap((r) => detect(r).flatMap((f) => (f.kind === 'signature' ? [{ f, uri: r.uri }] : [])));
      const signatures = held.map((h) => h.f);
      if (!signatures.length) continue;
      findings.push(...chainFindings({ name: chain.index, signatures }, chain.hashes, chain.apt));
      from.push(...held.map((h) => ({ uri: h.uri, index: chain.index })));
      if (chain.keys?.length) errors.push(...expiredSigningKeys(signatures, keysIn(chain.keys), now, `its index ${chain.index} is signed`));
      vouched = true;
      break;
    }
    if (!own.length) coverage = vouched ? 'covered' : 'index-unsigned';
  }
  if (!own.length && v.unsigned) errors.push({ code: 'unsupported', message: v.unsigned, source: 'source' });
  return { coverage, findings, errors, from };
}
