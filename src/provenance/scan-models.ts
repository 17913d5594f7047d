/**
 * The models a scan found: every artifact that is an OpenSSF Model Signing signature (its DSSE statement's predicate
 * is `https://model_signing/signature/v1.0` or the legacy `Digests/v0.1`, as the dsse/sigstore detectors annotate
 * it), with the model's root digest (the statement's subject; for legacy signatures recomputed from the per-file
 * subjects) and the model's location (the signature's directory). Pure: reads the scan model only. The inventory
 * records them (so `where` and `retire` take a model's root digest), and the reports list them.
 * @module
 */
import type { ArtifactResult, ScanResult } from '../model.js';
import { compareResourceNames, OMS_PREDICATE_LEGACY, OMS_PREDICATE_V1, rootDigest } from './model-signing.js';

export interface ScanModel {
  /** OMS root digest, hex. */
  root: string;
  /** The model's location: the signature's directory URI (with a trailing slash). */
  uri: string;
  signatureUri: string;
  /** The signature's algorithms as the scan named them, with quantum status and exposure severity. */
  signatures: { algorithm: string; quantum: string; severity?: string }[];
  copies?: number;
  retired?: { at: string; reason: string };
}

export function modelsInScan(result: Pick<ScanResult, 'artifacts'>): ScanModel[] {
  const out: ScanModel[] = [];
  for (const a of result.artifacts) {
    const m = modelOf(a);
    if (m) out.push(m);
  }
  return out;
}

export function modelOf(a: ArtifactResult): ScanModel | undefined {
  const ann = a.annotations ?? {};
  const predicate = ann['intoto.predicateType'];
  if (predicate !== OMS_PREDICATE_V1 && predicate !== OMS_PREDICATE_LEGACY) return undefined;
  // `name@alg:hex,alg:hex name@…` (src/detectors/dsse.ts statementAnnotations).
  const subjects = (ann['intoto.subjects'] ?? '')
    .split(' ')
    .map((s) => {
      const at = s.lastIndexOf('@');
      const sha = /(?:^|,)sha256:([0-9a-f]{64})(?:,|$)/.exec(s.slice(at + 1))?.[1];
      return { name: s.slice(0, at), sha };
    })
    .filter((s): s is { name: string; sha: string } => !!s.sha);
  if (!subjects.length) return undefined;
  const root =
    predicate === OMS_PREDICATE_V1
      ? subjects[0].sha
      : rootDigest([...subjects].sort((x, y) => compareResourceNames(x.name, y.name, 'files')).map((s) => s.sha));
  const slash = a.uri.lastIndexOf('/');
  return {
    root,
    uri: a.uri.slice(0, slash + 1),
    signatureUri: a.uri,
    signatures: a.findings
      .filter((f) => f.kind === 'signature')
      .map((f) => ({ algorithm: f.algorithm.id, quantum: f.quantum.status, ...(f.exposure ? { severity: f.exposure.severity } : {}) })),
    ...(a.copies ? { copies: a.copies } : {}),
    ...(a.retired ? { retired: a.retired } : {}),
  };
}
