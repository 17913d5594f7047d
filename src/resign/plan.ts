/**
 * The resign plan: which artifacts of a scan (the JSON contract, docs/architecture.md) get a hybrid signature, where it goes, and
 * why. Pure: reads the scan document, asks the writers where a signature would go, touches nothing.
 * @module
 */
import { reasonAt, ShelflifeError, UsageError } from '../errors.js';
import { compileGlobs } from '../glob.js';
import { modelOf } from '../provenance/scan-models.js';
import { SEVERITIES, type ArtifactResult, type QuantumStatus, type ScanResult, type Severity } from '../model.js';
import { isModelSignatureUri } from './model-signature.js';
import { FsWriter } from './writers/fs.js';
import { OciWriter } from './writers/oci.js';
import { S3Writer } from './writers/s3.js';
import type { SignatureFormat, SignatureLocation, SignatureSubject, SignatureWriter } from './writers/types.js';

/** One writer per source kind. */
export const WRITERS: SignatureWriter[] = [new FsWriter(), new OciWriter(), new S3Writer()];

export function writerFor(uri: string): SignatureWriter | undefined {
  return WRITERS.find((w) => w.handles(uri));
}

/** `unsigned` selects artifacts the scan marked `signed: false` (a class that should carry a signature and does not). */
export type StatusFilter = QuantumStatus | 'unsigned';

export interface Selection {
  minSeverity?: Severity;
  /** Quantum status of at least one finding (default: vulnerable, or unsigned). */
  status?: StatusFilter[];
  classes?: string[];
  formats?: string[];
  /** Globs over the artifact URI (`**\/*.bin`, `file:///srv/fw/**`). */
  uriGlobs?: string[];
}

export const DEFAULT_STATUS: StatusFilter[] = ['vulnerable', 'unsigned'];

export interface PlanItem {
  uri: string;
  sha256: string;
  size: number;
  /** Why it was selected, in words (status, severity, class, format). */
  why: string;
  writer: SignatureWriter;
  locations: SignatureLocation[];
  /** The scan's records of the artifact and the containers holding it. */
  subject: SignatureSubject;
  /**
   * The root digest of the model whose OpenSSF Model Signing signature this artifact is or carries (a model.sig
   * file, an OCI model manifest with its signature as a referrer): resign re-signs that statement, as a DSSE bundle.
   */
  modelRoot?: string;
}

export interface PlanRefusal {
  uri: string;
  reason: string;
}

export interface Plan {
  items: PlanItem[];
  refused: PlanRefusal[];
  /** Artifacts the filters left out. */
  notSelected: number;
}

const SEVERITY_RANK = new Map(SEVERITIES.map((s, i) => [s, i]));

export function parseSeverity(s: string): Severity {
  const v = s.toLowerCase() as Severity;
  if (!SEVERITY_RANK.has(v)) throw new UsageError(`--min-severity: "${s}" is not one of ${SEVERITIES.join(', ')}`);
  return v;
}

export function parseStatus(list: string[]): StatusFilter[] {
  const known: StatusFilter[] = ['vulnerable', 'weakened', 'resistant', 'hybrid', 'unknown', 'unsigned'];
  return list
    .flatMap((x) => x.split(','))
    .map((x) => {
      const v = x.trim().toLowerCase() as StatusFilter;
      if (!known.includes(v)) throw new UsageError(`--status: "${x}" is not one of ${known.join(', ')}`);
      return v;
    });
}

/** Validate the parts of a scan document resign relies on; anything else in it is ignored. */
export function readScan(text: string, what: string): ScanResult {
  let doc: ScanResult;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`not JSON: ${(e as Error).message}`, { uri: what });
  }
  if (doc?.schemaVersion !== '1' || !Array.isArray(doc.artifacts))
    throw new UsageError(`not a shelflife scan (schemaVersion "1" with artifacts[]); run \`shelflife scan --format json\``, { uri: what });
  return doc;
}

function artifactSeverity(a: ArtifactResult): Severity | undefined {
  let best: Severity | undefined = a.exposure?.severity;
  for (const f of a.findings ?? []) {
    const s = f.exposure?.severity;
    if (s && (!best || SEVERITY_RANK.get(s)! > SEVERITY_RANK.get(best)!)) best = s;
  }
  return best;
}

/** Does the artifact pass every filter? Returns the reason it was chosen, or undefined. */
export function selects(a: ArtifactResult, sel: Selection): string | undefined {
  const why: string[] = [];
  const statuses = sel.status ?? DEFAULT_STATUS;
  const hits = (a.findings ?? []).filter((f) => statuses.includes(f.quantum?.status));
  if (hits.length)
    why.push(`${hits.length} ${[...new Set(hits.map((f) => `${f.quantum.status} ${f.algorithm?.id}`))].join(', ')} finding${hits.length > 1 ? 's' : ''}`);
  else if (statuses.includes('unsigned') && a.signed === false) why.push('unsigned');
  else return undefined;
  if (sel.minSeverity) {
    const sev = artifactSeverity(a);
    if (!sev || SEVERITY_RANK.get(sev)! < SEVERITY_RANK.get(sel.minSeverity)!) return undefined;
    why.push(`severity ${sev}`);
  }
  if (sel.classes?.length) {
    if (!a.class || !sel.classes.includes(a.class)) return undefined;
    why.push(`class ${a.class}`);
  }
  if (sel.formats?.length) {
    const fmts = (a.findings ?? []).map((f) => f.format).filter((f) => sel.formats!.includes(f));
    if (!fmts.length) return undefined;
    why.push(`format ${[...new Set(fmts)].join(', ')}`);
  }
  if (sel.uriGlobs?.length && !uriMatcher(sel.uriGlobs)(a.uri)) return undefined;
  return why.join('; ');
}

const uriMatchers = new WeakMap<readonly string[], (uri: string) => boolean>();

/** `--uri` globs: one with a scheme (`file:///srv/fw/**`) matches the whole URI, one without (`fw/*.bin`) its end. */
function uriMatcher(globs: readonly string[]): (uri: string) => boolean {
  let m = uriMatchers.get(globs);
  if (!m) {
    m = compileGlobs(
      globs.map((g) => (g.includes('://') || g.startsWith('**') ? g : `**/${g}`)),
      '--uri',
    );
    uriMatchers.set(globs, m);
  }
  return m;
}

/** The artifact's record, then each container's out to the top-level one (bounded: a cycle of parents is refused). */
function subjectOf(a: ArtifactResult, byUri: Map<string, ArtifactResult>): SignatureSubject {
  const records = [a];
  for (let p = a.parent; p !== null;) {
    const r = byUri.get(p);
    if (!r || records.length > 64) throw new ShelflifeError('resign', `the scan does not hold the container ${p} of this artifact`, { uri: a.uri });
    records.push(r);
    p = r.parent;
  }
  return { records };
}

export function makePlan(scan: ScanResult, sel: Selection, format: SignatureFormat): Plan {
  const plan: Plan = { items: [], refused: [], notSelected: 0 };
  const byUri = new Map(scan.artifacts.map((a) => [a.uri, a]));
  for (const a of scan.artifacts) {
    const why = selects(a, sel);
    if (!why) {
      plan.notSelected++;
      continue;
    }
    if (!a.sha256 || !/^[0-9a-f]{64}$/.test(a.sha256)) {
      const sampled = !a.uri.startsWith('file://') && a.sha256 === null;
      plan.refused.push({
        uri: a.uri,
        reason: `the scan recorded no sha256 for it${sampled ? ' (the scan only sampled it: head and tail windows; rescan it with --digest full)' : ''}, so its bytes cannot be pinned`,
      });
      continue;
    }
    const writer = writerFor(a.uri);
    if (!writer) {
      plan.refused.push({ uri: a.uri, reason: `no signature writer for ${a.uri.split(':')[0]}:// artifacts yet` });
      continue;
    }
    const refusal = writer.refuses?.(a);
    if (refusal) {
      plan.refused.push({ uri: a.uri, reason: refusal });
      continue;
    }
    try {
      const subject = subjectOf(a, byUri);
      const model = modelOf(a);
      // A model signature keeps its chain as a DSSE bundle of the same statement, whatever --format says.
      const modelRoot = model && (isModelSignatureUri(a.uri) || writer.kind === 'oci') ? model.root : undefined;
      plan.items.push({
        uri: a.uri,
        sha256: a.sha256,
        size: a.size,
        why,
        writer,
        locations: writer.locate(a.uri, modelRoot || isModelSignatureUri(a.uri) ? 'dsse' : format, subject),
        subject,
        ...(modelRoot ? { modelRoot } : {}),
      });
    } catch (e) {
      plan.refused.push({ uri: a.uri, reason: reasonAt(e, a.uri) });
    }
  }
  return plan;
}
