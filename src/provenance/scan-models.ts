/**
 * The models a scan found: every artifact that is an OpenSSF Model Signing signature (its DSSE statement's predicate
 * is `https://model_signing/signature/v1.0` or the legacy `Digests/v0.1`, as the dsse/sigstore detectors annotate
 * it), with the model's root digest (the statement's subject; for legacy signatures recomputed from the per-file
 * subjects) and the model's location (the signature's directory). Pure: reads the scan model only. The inventory
 * records them (so `where` and `retire` take a model's root digest), and the reports list them.
 * @module
 */
import type { ArtifactResult, ModelProvenanceSummary, ScanModel, ScanResult } from '../model.js';
import type { Dependency, ProvenanceAnswer } from './answer.js';
import { compareResourceNames, OMS_PREDICATE_LEGACY, OMS_PREDICATE_V1, rootDigest } from './model-signing.js';

export type { ScanModel } from '../model.js';

/** The models of a scan for reports: with their provenance when the scan summarized it, else from the artifacts. */
export function scanModels(result: Pick<ScanResult, 'artifacts' | 'models'>): ScanModel[] {
  return result.models ?? modelsInScan(result);
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
  // The dsse/sigstore detectors' own keys for a model signature (other attached statements cannot overwrite them),
  // else the statement's (scans recorded before they existed).
  const predicate = ann['modelsigning.predicateType'] ?? ann['intoto.predicateType'];
  if (predicate !== OMS_PREDICATE_V1 && predicate !== OMS_PREDICATE_LEGACY) return undefined;
  // `name@alg:hex,alg:hex name@…` (src/detectors/dsse.ts statementAnnotations).
  const subjects = (ann['modelsigning.subjects'] ?? ann['intoto.subjects'] ?? '')
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
  return {
    root,
    uri: modelLocation(a),
    signatureUri: a.uri,
    signatures: a.findings
      .filter((f) => f.kind === 'signature')
      .map((f) => ({ algorithm: f.algorithm.id, quantum: f.quantum.status, ...(f.exposure ? { severity: f.exposure.severity } : {}) })),
    ...(a.copies ? { copies: a.copies } : {}),
    ...(a.retired ? { retired: a.retired } : {}),
  };
}

/**
 * Where the model is: an OCI model's manifest (the signature is attached to it, or is a `model.sig` layer of it),
 * else the signature's directory or prefix.
 */
function modelLocation(a: ArtifactResult): string {
  if (a.uri.startsWith('oci://') && !a.uri.includes('!/')) return a.annotations?.['oci.blob'] && a.parent ? a.parent : a.uri;
  return a.uri.slice(0, a.uri.lastIndexOf('/') + 1);
}

/**
 * The scan's artifacts that are the model's: the signature, every file under the model's directory or prefix (an
 * archive's members included), or an OCI model's manifest and everything it holds.
 */
export function artifactsOfModel(result: Pick<ScanResult, 'artifacts'>, model: ScanModel): ArtifactResult[] {
  if (model.uri.startsWith('oci://') && !model.uri.endsWith('/')) {
    const inside = new Set([model.uri]);
    const out: ArtifactResult[] = [];
    // Parents come before their members in no fixed order: follow the chain up for each artifact (bounded).
    const byUri = new Map(result.artifacts.map((a) => [a.uri, a]));
    for (const a of result.artifacts) {
      let p: ArtifactResult | undefined = a;
      for (let depth = 0; p && depth < 64; depth++) {
        if (inside.has(p.uri)) {
          out.push(a);
          break;
        }
        p = p.parent ? byUri.get(p.parent) : undefined;
      }
    }
    return out;
  }
  return result.artifacts.filter((a) => a.uri === model.signatureUri || a.uri.startsWith(model.uri));
}

/** A provenance answer in brief, for scan reports (one line per answer). Pure. */
export function summarizeAnswer(a: ProvenanceAnswer): ModelProvenanceSummary {
  const dep = (d: Dependency) =>
    [
      d.name ?? d.uri ?? '?',
      ...Object.entries(d.digest ?? {})
        .slice(0, 1)
        .map(([k, v]) => `${k}:${v.slice(0, 12)}`),
    ].join(' @ ');
  const latest = a.evaluation.benchmarks;
  return {
    integrity: { status: a.integrity.status, grade: a.integrity.grade, changed: a.integrity.changed, missing: a.integrity.missing, added: a.integrity.added },
    lineage: {
      grade: a.lineage.grade,
      ...(a.lineage.builder ? { builder: a.lineage.builder } : {}),
      parents: [...new Set(a.lineage.parents.map(dep))],
      datasets: [...new Set(a.lineage.datasets.map(dep))],
    },
    evaluation: {
      grade: a.evaluation.grade,
      ...(a.evaluation.time ? { time: a.evaluation.time } : {}),
      ...(a.evaluation.result ? { result: a.evaluation.result } : {}),
      benchmarks: latest.slice(0, 64).map((b) => ({
        name: b.name ?? b.uri ?? '?',
        ...(b.result !== undefined ? { result: `${b.result}${b.metric ? ` ${b.metric}` : ''}` } : {}),
      })),
    },
    approval: {
      grade: a.approval.grade,
      approved: a.approval.approved,
      ...(a.approval.verifier ? { verifier: a.approval.verifier } : {}),
      ...(a.approval.time ? { time: a.approval.time } : {}),
      reason: a.approval.reason,
    },
  };
}
