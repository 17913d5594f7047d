/**
 * The identity of a finding, defined once for the whole flow: the detector registry and the engine de-duplicate by it
 * (the same certificate reached by the CMS walker and the x509 carver, or seen again in the overlap of two windows),
 * the inventory follows a finding across scans by it (diffs, `--only-changed`), and reports and SIEM events name a
 * finding by it (SARIF `partialFingerprints`, OCSF `finding_info.uid`, event ids), so a dashboard de-duplicates
 * exactly what the scanner de-duplicated.
 * @module
 */
import { createHash } from 'node:crypto';
import type { ArtifactResult, Finding } from './model.js';

/**
 * What makes two findings of one artifact the same object: kind, where it sits (the byte offset when known, else the
 * structural path), the member it came from, the algorithm with its hash, and the key or certificate it names (its
 * fingerprint, else its subject). The detector that reported it is not part of it: the CMS walker and the x509
 * carver reporting one certificate at one offset report one finding.
 */
export function findingKey(f: Finding): string {
  const where = f.location.offset !== undefined ? `@${f.location.offset}` : (f.location.path ?? '');
  return [f.kind, where, f.location.member ?? '', f.algorithm.id, f.algorithm.hash ?? '', f.fingerprint ?? f.subject ?? ''].join('|');
}

/**
 * A finding's identity across stores and scans: SHA-256 (hex) of the artifact's content digest (its URI when it has
 * none, e.g. an unreadable artifact) and `findingKey`. The same bytes anywhere give the same id.
 */
export function findingId(artifact: Pick<ArtifactResult, 'sha256' | 'uri'>, f: Finding): string {
  return createHash('sha256')
    .update(`shelflife-finding/1\0${artifact.sha256 ? `sha256:${artifact.sha256}` : artifact.uri}\0${findingKey(f)}`)
    .digest('hex');
}
