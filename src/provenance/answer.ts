/**
 * The provenance answer for one model (docs/architecture.md "Provenance"; docs/provenance.md):
 * `{ subject, integrity, lineage, evaluation, approval, retired, copies, quantum }`, each with a `grade`
 * (`signed-verified` | `signed` | `declared` | `absent`) and the `evidence` it came from.
 * - subject: the OpenSSF Model Signing root digest (from model.sig, else computed over the files present, SHA-256);
 * - integrity: the manifest recomputed with the signature's own hash, `verified` | `modified` | `unsigned`;
 * - lineage: SLSA Provenance v1 (signed), or card / GGUF / MLmodel / Kitfile metadata (declared);
 * - evaluation: in-toto test-result v0.1 (signed; the time from the signature's transparency log), or
 *   `.eval_results/*.yaml` and `model-index` (declared);
 * - approval: a SLSA VSA v1 or in-toto SVR v0.2 whose subject is these bytes, signed by an approver in --trust;
 * - retired and copies: the inventory (every copy of the same files); quantum: every signature in the chain scored
 *   against the model-weights class lifetime (src/scoring).
 * Statements about the model match by digest only (root digest, or one file's SHA-256), never by name.
 * @module
 */
import { basename } from 'node:path';
import { catalogue } from '../catalogue/index.js';
import { ShelflifeError } from '../errors.js';
import type { ArtifactResult, Exposure, Finding } from '../model.js';
import { prepareScoring, scoreArtifact, type ScoringOptions } from '../scoring/index.js';
import { loadEvidence, readEvidenceDocument, type EvidenceStatement } from './evidence.js';
import { compareManifests, hashModel, type HashedModel } from './integrity.js';
import { readSlsaProvenance, readSvr, readTestResult, readVsa, SLSA_PROVENANCE_V1, SLSA_VSA_V1, SVR_V02, TEST_RESULT_V01 } from './intoto.js';
import type { ModelFile, ModelTree } from './model-files.js';
import { openModelSource, type ModelSource } from './model-source.js';
import {
  readEvalResults,
  readGgufMetadata,
  readKitfile,
  readMlmodel,
  readModelCard,
  readOnnxMetadata,
  readSafetensorsMetadata,
  type CardResult,
  type ReadAt,
} from './model-metadata.js';
import { MODEL_SIGNATURE_FILE, parseModelSignature, type ModelSignature, type Serialization } from './model-signing.js';
import { NO_TRUST, type Trust } from './trust.js';
import { checkSignature, type SignatureCheck } from './verify.js';

export type Grade = 'signed-verified' | 'signed' | 'declared' | 'absent';
export const GRADES: readonly Grade[] = ['absent', 'declared', 'signed', 'signed-verified'];

export interface EvidenceRef {
  uri: string;
  kind: string;
  grade: Grade;
  /** How it matched the model (root digest, a file's digest) and who signed it. */
  detail?: string;
}

export interface Dependency {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  relation?: 'parent' | 'dataset' | 'source' | 'run';
  grade: Grade;
  from: string;
  /** Where the inventory has seen it, by its digest: a signed model with that root digest, or files with those bytes. */
  locations?: string[];
}

export interface Benchmark {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  result?: string | number;
  metric?: string;
  grade: Grade;
  from: string;
}

export interface SignatureExposure {
  from: string;
  role: 'model-signature' | 'attestation';
  algorithm: string;
  quantum: string;
  signer?: string;
  check: SignatureCheck['status'];
  exposure?: Exposure;
}

export interface ProvenanceAnswer {
  schemaVersion: '1';
  model: string;
  generatedAt: string;
  subject: {
    digest: string;
    source: 'model-signing' | 'computed';
    name: string;
    serialization: Serialization;
    /** Root digest of the bytes now (equal to `digest` when integrity is verified). */
    currentDigest: string;
    files: { path: string; size: number; sha256?: string }[];
    grade: Grade;
    evidence: EvidenceRef[];
  };
  integrity: {
    status: 'verified' | 'modified' | 'unsigned';
    grade: Grade;
    hash: string;
    changed: string[];
    missing: string[];
    added: string[];
    signature?: { status: SignatureCheck['status']; method: string; signer?: string; trustedAs?: string; reason: string; algorithm?: string };
    /** Other signatures over the same statement (hybrid re-signatures kept beside model.sig). */
    cosignatures: { uri: string; status: SignatureCheck['status']; signer?: string; algorithm?: string; reason: string }[];
    skipped: { path: string; reason: string }[];
    evidence: EvidenceRef[];
  };
  lineage: { grade: Grade; builder?: string; built?: string; parents: Dependency[]; datasets: Dependency[]; evidence: EvidenceRef[] };
  evaluation: { grade: Grade; time?: string; timeSource?: string; result?: string; benchmarks: Benchmark[]; evidence: EvidenceRef[] };
  approval: {
    grade: Grade;
    approved: boolean | 'unknown';
    policy?: string;
    verifier?: string;
    time?: string;
    levels?: string[];
    reason: string;
    evidence: EvidenceRef[];
  };
  retired: { grade: Grade; retired: boolean; at?: string; reason?: string; evidence: EvidenceRef[] };
  copies: { grade: Grade; count: number; locations: string[]; evidence: EvidenceRef[] };
  quantum: { grade: Grade; worst?: string; signatures: SignatureExposure[]; evidence: EvidenceRef[] };
  problems: { uri: string; message: string }[];
}

/** What the inventory knows, asked by digest (the CLI opens it; tests may pass their own). */
export interface InventoryLookup {
  locations(sha256: string): Promise<string[]>;
  retirement(sha256: string): Promise<{ at: string; reason: string } | undefined>;
  /** Where signed models with this root digest were seen (scans record them). */
  modelLocations(root: string): Promise<string[]>;
}

export interface ProvenanceOptions {
  trust?: Trust;
  evidence?: string[];
  /** Extra paths to leave out of the model's bytes (model_signing `--ignore-paths`). */
  ignore?: string[];
  /** The model signature (default: model.sig in the model directory, or beside a single-file model). */
  signature?: string;
  /** Options for remote stores (oci://, s3://): registry CA, plain HTTP, S3 endpoint … */
  remote?: Record<string, unknown>;
  inventory?: InventoryLookup;
  scoring?: ScoringOptions;
  now?: Date;
  /**
   * SHA-256 and size of files a scan has just read, by URI (`<model uri><path>`, or the file's own URI): a file of
   * that size is not read again for a SHA-256 manifest (the scan's summary of a model, src/provenance/scan-provenance.ts).
   */
  knownDigests?: ReadonlyMap<string, { sha256: string; size: number }>;
}

/** Sidecar names of hybrid re-signatures of model.sig's statement (resign: the DSSE sidecar and its alternate). */
export const HYBRID_MODEL_SIGNATURES = [`${MODEL_SIGNATURE_FILE}.hybrid.json`, `${MODEL_SIGNATURE_FILE}.hybrid-2.json`];
const DEFAULT_SERIALIZATION: Serialization = { method: 'files', hashType: 'sha256', allowSymlinks: false, ignorePaths: [] };
const METADATA_LIMIT = 16 * 1024 * 1024;
const MAX_WEIGHT_FILES_READ = 64;
/** Parents and datasets looked up in the inventory, per answer. */
const MAX_INVENTORY_LINKS = 64;

export async function answerProvenance(target: string, options: ProvenanceOptions = {}): Promise<ProvenanceAnswer> {
  const source = await openModelSource(target, {
    ...(options.signature ? { signature: options.signature } : {}),
    ...(options.remote ? { remote: options.remote } : {}),
  });
  try {
    return await answerFor(source, options);
  } finally {
    await source.close();
  }
}

/** The answer for a model some source opened (a directory, an OCI artifact, an S3 prefix). */
export async function answerFor(source: ModelSource, options: ProvenanceOptions = {}): Promise<ProvenanceAnswer> {
  const trust = options.trust ?? NO_TRUST;
  const tree = source.tree;
  if (options.knownDigests)
    for (const f of tree.files) {
      const known = f.sha256 ? undefined : options.knownDigests.get(f.uri ?? `${tree.uri}${f.path}`);
      if (known && known.size === f.size) f.sha256 = known.sha256;
    }
  const problems: ProvenanceAnswer['problems'] = [...source.problems];
  const sigUri = source.signature?.uri ?? source.signatureUri;
  let signature: ModelSignature | undefined;
  if (source.signature) {
    try {
      signature = parseModelSignature(source.signature.bytes, sigUri);
    } catch (e) {
      if (!(e instanceof ShelflifeError)) throw e;
      problems.push({ uri: sigUri, message: stripUri(e.message, sigUri) });
    }
  }
  const serialization = signature?.manifest.serialization ?? DEFAULT_SERIALIZATION;
  const extraIgnores = [...(options.ignore ?? []), ...HYBRID_MODEL_SIGNATURES];
  const hashed = await hashModel(tree, serialization, extraIgnores);
  const sha256Root =
    serialization.method === 'files' && serialization.hashType === 'sha256'
      ? hashed.rootDigest
      : (await hashModel(tree, DEFAULT_SERIALIZATION, extraIgnores)).rootDigest;
  const check = signature ? checkSignatureOf(signature, trust) : undefined;
  const comparison = signature ? compareManifests(signature.manifest, hashed) : undefined;

  // Hybrid re-signatures of the same statement beside model.sig, or attached to the model by its store (OCI
  // referrers): resign keeps the chain across the migration.
  const cosignatures: ProvenanceAnswer['integrity']['cosignatures'] = [];
  let hybridVerified: SignatureCheck | undefined;
  const hybridFiles = tree.single ? [] : tree.files.filter((f) => HYBRID_MODEL_SIGNATURES.includes(f.path));
  const hybridDocuments = signature
    ? [
        ...(await Promise.all(hybridFiles.map(async (f) => ({ uri: `${tree.uri}${f.path}`, bytes: await f.readSmall(METADATA_LIMIT) })))),
        ...(source.cosignatures ?? []),
      ]
    : [];
  for (const { uri, bytes } of hybridDocuments) {
    const r = readEvidenceDocument(bytes, uri, trust);
    for (const p of r.problems) problems.push(p);
    for (const s of r.statements) {
      const same =
        s.statement.subjects[0]?.digest.sha256 === signature!.manifest.rootDigest && s.statement.predicateType === signature!.statement.predicateType;
      const status = same ? s.check.status : 'failed';
      const reason = same ? s.check.reason : 'its statement is not the one model.sig signs (different root digest)';
      cosignatures.push({
        uri,
        status,
        ...(s.check.signer ? { signer: s.check.signer } : {}),
        ...(s.check.algorithm ? { algorithm: s.check.algorithm.algorithm.id } : {}),
        reason,
      });
      if (same && status === 'verified') hybridVerified = s.check;
    }
  }

  // Identity digests of the model now: the root (signature's serialization and plain SHA-256 files) and each file.
  const roots = new Set([hashed.rootDigest, sha256Root]);
  const identities = new Set(source.identities);
  const fileDigests = new Map<string, string>();
  for (const [path, d] of hashed.fileSha256) fileDigests.set(d, path);

  const evidence = options.evidence?.length ? await loadEvidence(options.evidence, trust) : { statements: [], problems: [] };
  // What the store keeps beside the model (referrers, sidecars) counts like --evidence.
  for (const d of source.evidence) {
    const r = readEvidenceDocument(d.bytes, d.uri, trust);
    evidence.statements.push(...r.statements);
    evidence.problems.push(...r.problems);
  }
  problems.push(...evidence.problems);
  const matched = evidence.statements
    .map((s) => ({ s, match: matchSubject(s, roots, identities, fileDigests, tree.single) }))
    .filter((x): x is { s: EvidenceStatement; match: Match } => x.match !== undefined);

  const declared = await readDeclared(tree, problems);
  for (const d of source.declared) {
    declared.lineage.push({ ...(d.name ? { name: d.name } : {}), ...(d.uri ? { uri: d.uri } : {}), relation: d.relation, grade: 'declared', from: d.from });
    if (!declared.refs.lineage.some((r) => r.uri === d.from)) declared.refs.lineage.push({ uri: d.from, kind: 'store-config', grade: 'declared' });
  }
  const integrity = integrityAnswer(signature, check, comparison, hashed, hybridVerified, cosignatures, tree, sigUri);
  const subject: ProvenanceAnswer['subject'] = {
    digest: `sha256:${signature?.manifest.rootDigest ?? sha256Root}`,
    source: signature ? 'model-signing' : 'computed',
    name: signature?.manifest.name || tree.name,
    serialization,
    currentDigest: `sha256:${hashed.rootDigest}`,
    files: tree.files.map((f) => ({ path: f.path, size: f.size, ...(hashed.fileSha256.has(f.path) ? { sha256: hashed.fileSha256.get(f.path) } : {}) })),
    grade: integrity.grade === 'absent' ? 'declared' : integrity.grade,
    evidence: signature ? [{ uri: sigUri, kind: 'model-signature', grade: integrity.grade }] : [{ uri: tree.uri, kind: 'files', grade: 'declared' }],
  };
  const lineage = lineageAnswer(matched, declared);
  await linkToInventory([...lineage.parents, ...lineage.datasets], options.inventory);
  const evaluation = evaluationAnswer(matched, declared);
  const modelRoots = [...new Set([signature?.manifest.rootDigest, hashed.rootDigest].filter((x): x is string => !!x))];
  const retired = await retiredAnswer(options.inventory, hashed, modelRoots);
  const approval = approvalAnswer(matched, retired);
  const copies = await copiesAnswer(options.inventory, hashed, tree, modelRoots);
  const quantum = quantumAnswer(tree, signature ? { uri: sigUri, check: check! } : undefined, cosignatures, matched, options);
  return {
    schemaVersion: '1',
    model: tree.uri,
    generatedAt: (options.now ?? new Date()).toISOString(),
    subject,
    integrity,
    lineage,
    evaluation,
    approval,
    retired,
    copies,
    quantum,
    problems,
  };
}

function checkSignatureOf(sig: ModelSignature, trust: Trust): SignatureCheck {
  return checkSignature({ envelope: sig.envelope, bundle: sig.bundle, legacyModelSignature: sig.manifest.legacy }, trust);
}

function stripUri(message: string, uri: string): string {
  return message.startsWith(`${uri}: `) ? message.slice(uri.length + 2) : message;
}

const gradeOf = (c: SignatureCheck): Grade => (c.status === 'verified' ? 'signed-verified' : c.status === 'failed' ? 'absent' : 'signed');
const best = (gs: Grade[]): Grade => gs.reduce<Grade>((a, g) => (GRADES.indexOf(g) > GRADES.indexOf(a) ? g : a), 'absent');

function integrityAnswer(
  signature: ModelSignature | undefined,
  check: SignatureCheck | undefined,
  cmp: ReturnType<typeof compareManifests> | undefined,
  hashed: HashedModel,
  hybrid: SignatureCheck | undefined,
  cosignatures: ProvenanceAnswer['integrity']['cosignatures'],
  tree: ModelTree,
  sigUri: string,
): ProvenanceAnswer['integrity'] {
  const base = { hash: hashed.serialization.hashType, cosignatures, skipped: tree.skipped };
  if (!signature || !check || !cmp || check.status === 'failed') {
    return {
      status: 'unsigned',
      grade: 'absent',
      ...base,
      changed: [],
      missing: [],
      added: [],
      ...(check ? { signature: sigSummary(check) } : {}),
      evidence: signature ? [{ uri: sigUri, kind: 'model-signature', grade: 'absent', detail: check?.reason }] : [],
    };
  }
  // Verified through the original signature, or through a hybrid re-signature of the same statement.
  const verifiedBy = check.status === 'verified' ? check : hybrid;
  const grade: Grade = cmp.status === 'verified' && verifiedBy ? 'signed-verified' : 'signed';
  return {
    status: cmp.status,
    grade,
    ...base,
    changed: cmp.changed,
    missing: cmp.missing,
    added: cmp.added,
    signature: sigSummary(check),
    evidence: [
      { uri: sigUri, kind: 'model-signature', grade: gradeOf(check), detail: check.reason },
      ...cosignatures.map((c) => ({
        uri: c.uri,
        kind: 'hybrid-signature',
        grade: c.status === 'verified' ? ('signed-verified' as const) : c.status === 'failed' ? ('absent' as const) : ('signed' as const),
        detail: c.reason,
      })),
    ],
  };
}

function sigSummary(c: SignatureCheck): NonNullable<ProvenanceAnswer['integrity']['signature']> {
  return {
    status: c.status,
    method: c.method,
    ...(c.signer ? { signer: c.signer } : {}),
    ...(c.principal ? { trustedAs: c.principal.name } : {}),
    reason: c.reason,
    ...(c.algorithm ? { algorithm: c.algorithm.algorithm.id } : {}),
  };
}

interface Match {
  by: 'root' | 'file';
  detail: string;
}

function matchSubject(s: EvidenceStatement, roots: Set<string>, identities: Set<string>, files: Map<string, string>, single: boolean): Match | undefined {
  for (const subj of s.statement.subjects) {
    const d = subj.digest.sha256;
    if (!d) continue;
    if (roots.has(d)) return { by: 'root', detail: `subject sha256:${d.slice(0, 16)}… is the model's root digest` };
    // The digest that names the model in its store (an OCI manifest digest) names these bytes too: the registry
    // holds the manifest to its digest, and the manifest holds every layer to its digest.
    if (identities.has(d)) return { by: 'root', detail: `subject sha256:${d.slice(0, 16)}… is the model's manifest digest` };
    const f = files.get(d);
    // A single-file model's one file is the model; in a directory a file digest speaks for that file only.
    if (f) return { by: single ? 'root' : 'file', detail: `subject sha256:${d.slice(0, 16)}… is ${single ? 'the model file' : `the file ${f}`}` };
  }
  return undefined;
}

function ref(s: EvidenceStatement, kind: string, m: Match): EvidenceRef {
  return { uri: s.uri, kind, grade: gradeOf(s.check), detail: `${m.detail}; ${s.check.reason}` };
}

interface Declared {
  lineage: Dependency[];
  benchmarks: Benchmark[];
  evalTimes: string[];
  refs: { lineage: EvidenceRef[]; evaluation: EvidenceRef[] };
}

async function readDeclared(tree: ModelTree, problems: ProvenanceAnswer['problems']): Promise<Declared> {
  const out: Declared = { lineage: [], benchmarks: [], evalTimes: [], refs: { lineage: [], evaluation: [] } };
  const uriOf = (f: ModelFile) => f.uri ?? (tree.single ? tree.uri : `${tree.uri}${f.path.split('/').map(encodeURIComponent).join('/')}`);
  let weights = 0;
  for (const f of tree.files) {
    const name = tree.single ? tree.name : f.path;
    const base = basename(name);
    const uri = uriOf(f);
    const readAt: ReadAt = async (offset, length) => {
      const parts: Uint8Array[] = [];
      for await (const c of f.open(offset, Math.min(f.size, offset + length))) parts.push(c);
      return new Uint8Array(Buffer.concat(parts));
    };
    try {
      if (/^readme\.md$/i.test(name)) {
        const card = readModelCard(Buffer.from(await f.readSmall(METADATA_LIMIT)).toString('utf8'), uri);
        if (!card) continue;
        const from = `${uri} (model card)`;
        for (const b of card.baseModels) out.lineage.push({ name: b, relation: 'parent', grade: 'declared', from });
        for (const d of card.datasets) out.lineage.push({ name: d, relation: 'dataset', grade: 'declared', from });
        for (const r of card.results) out.benchmarks.push(benchFromCard(r, from));
        if (card.baseModels.length || card.datasets.length) out.refs.lineage.push({ uri, kind: 'model-card', grade: 'declared' });
        if (card.results.length) out.refs.evaluation.push({ uri, kind: 'model-index', grade: 'declared' });
      } else if (/^\.eval_results\/[^/]+\.ya?ml$/.test(name)) {
        const results = readEvalResults(Buffer.from(await f.readSmall(METADATA_LIMIT)).toString('utf8'), uri);
        for (const r of results) {
          out.benchmarks.push({ ...benchFromCard(r, uri), name: r.dataset ?? basename(name).replace(/\.ya?ml$/, '') });
          if (r.date) out.evalTimes.push(r.date);
        }
        if (results.length) out.refs.evaluation.push({ uri, kind: 'eval-results', grade: 'declared' });
      } else if (base === 'MLmodel') {
        const m = readMlmodel(Buffer.from(await f.readSmall(METADATA_LIMIT)).toString('utf8'), uri);
        if (m.runId) out.lineage.push({ name: `mlflow run ${m.runId}`, relation: 'run', grade: 'declared', from: uri });
        if (m.runId) out.refs.lineage.push({ uri, kind: 'mlflow-mlmodel', grade: 'declared' });
      } else if (base === 'Kitfile') {
        const k = readKitfile(Buffer.from(await f.readSmall(METADATA_LIMIT)).toString('utf8'), uri);
        for (const d of k.datasets)
          out.lineage.push({ name: d.name ?? d.path, ...(d.path ? { uri: d.path } : {}), relation: 'dataset', grade: 'declared', from: uri });
        if (k.datasets.length) out.refs.lineage.push({ uri, kind: 'kitfile', grade: 'declared' });
      } else if (/\.(gguf|safetensors|onnx)$/i.test(base) && weights < MAX_WEIGHT_FILES_READ) {
        weights++;
        if (/\.gguf$/i.test(base)) {
          const md = await readGgufMetadata(readAt, f.size, uri);
          if (md && ggufLineage(md, uri, out.lineage)) out.refs.lineage.push({ uri, kind: 'gguf-metadata', grade: 'declared' });
        } else if (/\.safetensors$/i.test(base)) {
          const md = await readSafetensorsMetadata(readAt, f.size, uri);
          const keys = Object.entries(md ?? {}).filter(([k]) => /base_?model|parent|dataset|source/i.test(k));
          for (const [k, v] of keys)
            out.lineage.push({ name: v, relation: /dataset/i.test(k) ? 'dataset' : 'parent', grade: 'declared', from: `${uri} (__metadata__.${k})` });
          if (keys.length) out.refs.lineage.push({ uri, kind: 'safetensors-metadata', grade: 'declared' });
        } else {
          const md = await readOnnxMetadata(readAt, f.size, uri);
          const keys = Object.entries(md.metadataProps).filter(([k]) => /base_?model|parent|dataset|source/i.test(k));
          for (const [k, v] of keys)
            out.lineage.push({ name: v, relation: /dataset/i.test(k) ? 'dataset' : 'parent', grade: 'declared', from: `${uri} (metadata_props.${k})` });
          if (md.producerName)
            out.lineage.push({
              name: `${md.producerName}${md.producerVersion ? ` ${md.producerVersion}` : ''}`,
              relation: 'source',
              grade: 'declared',
              from: `${uri} (producer_name)`,
            });
          if (keys.length || md.producerName) out.refs.lineage.push({ uri, kind: 'onnx-metadata', grade: 'declared' });
        }
      }
    } catch (e) {
      if (!(e instanceof ShelflifeError)) throw e;
      problems.push({ uri, message: stripUri(e.message, uri) });
    }
  }
  return out;
}

function benchFromCard(r: CardResult, from: string): Benchmark {
  return {
    ...(r.datasetName || r.dataset ? { name: r.datasetName ?? r.dataset } : {}),
    ...(r.dataset ? { uri: r.dataset } : {}),
    ...(r.revision ? { digest: { revision: r.revision } } : {}),
    ...(r.value !== undefined ? { result: r.value } : {}),
    ...(r.metric ? { metric: r.metric } : {}),
    grade: 'declared',
    from,
  };
}

/** GGUF `general.base_model.{i}.*` and `general.dataset.{i}.*` (gguf.md "General metadata"). */
function ggufLineage(md: Record<string, unknown>, uri: string, into: Dependency[]): boolean {
  let found = false;
  for (const [prefix, relation] of [
    ['general.base_model', 'parent'],
    ['general.dataset', 'dataset'],
  ] as const) {
    const n = Math.min(Number(md[`${prefix}.count`] ?? 0), 1000);
    for (let i = 0; i < n; i++) {
      const p = `${prefix}.${i}`;
      const name = [md[`${p}.organization`], md[`${p}.name`], md[`${p}.version`]].filter((x) => typeof x === 'string' && x).join(' / ');
      const url = md[`${p}.repo_url`] ?? md[`${p}.url`];
      const doi = md[`${p}.doi`];
      into.push({
        ...(name ? { name } : {}),
        ...(typeof url === 'string' ? { uri: url } : typeof doi === 'string' ? { uri: `doi:${doi}` } : {}),
        relation,
        grade: 'declared',
        from: `${uri} (${p}.*)`,
      });
      found = true;
    }
  }
  if (typeof md['general.source.url'] === 'string') {
    into.push({ uri: md['general.source.url'] as string, relation: 'source', grade: 'declared', from: `${uri} (general.source.url)` });
    found = true;
  }
  return found;
}

/** Parents and datasets seen elsewhere, linked by digest (never by name): a model's root digest or a file's SHA-256. */
async function linkToInventory(deps: Dependency[], inventory: InventoryLookup | undefined): Promise<void> {
  if (!inventory) return;
  let asked = 0;
  for (const d of deps) {
    const sha = d.digest?.sha256?.toLowerCase();
    if (!sha || !/^[0-9a-f]{64}$/.test(sha) || asked++ >= MAX_INVENTORY_LINKS) continue;
    const seen = [...new Set([...(await inventory.modelLocations(sha)), ...(await inventory.locations(sha))])];
    if (seen.length) d.locations = seen.slice(0, 100);
  }
}

function lineageAnswer(matched: { s: EvidenceStatement; match: Match }[], declared: Declared): ProvenanceAnswer['lineage'] {
  const parents: Dependency[] = [];
  const datasets: Dependency[] = [];
  const evidence: EvidenceRef[] = [];
  let builder: string | undefined;
  let built: string | undefined;
  let bestSigned: Grade = 'absent';
  for (const { s, match } of matched) {
    if (s.statement.predicateType !== SLSA_PROVENANCE_V1 || s.check.status === 'failed') continue;
    const p = readSlsaProvenance(s.statement.predicate, s.uri);
    const g = gradeOf(s.check);
    evidence.push(ref(s, 'slsa-provenance', match));
    if (GRADES.indexOf(g) > GRADES.indexOf(bestSigned)) {
      bestSigned = g;
      builder = p.builderId;
      built = p.finishedOn ?? p.startedOn;
    }
    for (const d of p.resolvedDependencies) {
      const dep: Dependency = { ...(d.name ? { name: d.name } : {}), ...(d.uri ? { uri: d.uri } : {}), digest: d.digest, grade: g, from: s.uri };
      (/dataset|data\b|corpus/i.test(`${d.name ?? ''} ${d.uri ?? ''}`) ? datasets : parents).push({
        ...dep,
        relation: /dataset|data\b|corpus/i.test(`${d.name ?? ''} ${d.uri ?? ''}`) ? 'dataset' : 'parent',
      });
    }
  }
  for (const d of declared.lineage) (d.relation === 'dataset' ? datasets : parents).push(d);
  evidence.push(...declared.refs.lineage);
  const grade = best([bestSigned, ...(declared.lineage.length ? (['declared'] as Grade[]) : [])]);
  return { grade, ...(builder ? { builder } : {}), ...(built ? { built } : {}), parents, datasets, evidence };
}

function evaluationAnswer(matched: { s: EvidenceStatement; match: Match }[], declared: Declared): ProvenanceAnswer['evaluation'] {
  const benchmarks: Benchmark[] = [];
  const evidence: EvidenceRef[] = [];
  let latest: { time?: string; source?: string; result?: string; grade: Grade } | undefined;
  for (const { s, match } of matched) {
    if (s.statement.predicateType !== TEST_RESULT_V01 || s.check.status === 'failed') continue;
    const t = readTestResult(s.statement.predicate, s.uri);
    const g = gradeOf(s.check);
    evidence.push(ref(s, 'test-result', match));
    // The predicate has no time: only a verified transparency-log entry dates it.
    const time = s.check.status === 'verified' ? s.check.time : undefined;
    for (const c of t.configuration)
      benchmarks.push({
        ...(c.name ? { name: c.name } : {}),
        ...(c.uri ? { uri: c.uri } : {}),
        digest: c.digest,
        ...(t.result ? { result: t.result } : {}),
        grade: g,
        from: s.uri,
      });
    const cand = {
      ...(time ? { time: time.at, source: time.source === 'rfc3161' ? `RFC 3161 timestamp (${time.authority})` : 'transparency log' } : {}),
      ...(t.result ? { result: t.result } : {}),
      grade: g,
    };
    if (!latest || GRADES.indexOf(g) > GRADES.indexOf(latest.grade) || (g === latest.grade && (time ?? '') > (latest.time ?? ''))) latest = cand;
  }
  benchmarks.push(...declared.benchmarks);
  evidence.push(...declared.refs.evaluation);
  const declaredTime = declared.evalTimes.sort().at(-1);
  const grade = best([latest?.grade ?? 'absent', ...(declared.benchmarks.length ? (['declared'] as Grade[]) : [])]);
  const time = latest?.time ?? (grade === 'declared' ? declaredTime : undefined);
  return {
    grade,
    ...(time ? { time, timeSource: latest?.time ? latest.source : 'declared date' } : {}),
    ...(latest?.result ? { result: latest.result } : {}),
    benchmarks,
    evidence,
  };
}

function approvalAnswer(matched: { s: EvidenceStatement; match: Match }[], retired: ProvenanceAnswer['retired']): ProvenanceAnswer['approval'] {
  const evidence: EvidenceRef[] = [];
  let decision: Omit<ProvenanceAnswer['approval'], 'evidence'> | undefined;
  for (const { s, match } of matched) {
    const isVsa = s.statement.predicateType === SLSA_VSA_V1;
    const isSvr = s.statement.predicateType === SVR_V02;
    if (!isVsa && !isSvr) continue;
    const kind = isVsa ? 'vsa' : 'svr';
    evidence.push(ref(s, kind, match));
    if (s.check.status === 'failed') continue;
    // "Approved" means approved for these bytes: a statement about one file of a directory model is not an approval.
    if (match.by !== 'root') {
      decision ??= { grade: gradeOf(s.check), approved: 'unknown', reason: `${s.uri}: its subject is one file of the model, not the model's root digest` };
      continue;
    }
    const v = isVsa ? readVsa(s.statement.predicate, s.uri) : undefined;
    const r = isSvr ? readSvr(s.statement.predicate, s.uri) : undefined;
    const verifier = v?.verifierId ?? r?.verifierId;
    const time = v?.timeVerified ?? r?.timeCreated;
    const policy = v?.policy?.uri ?? r?.policies[0]?.uri;
    const common = { ...(verifier ? { verifier } : {}), ...(time ? { time } : {}), ...(policy ? { policy } : {}), ...(v ? { levels: v.verifiedLevels } : {}) };
    const p = s.check.principal;
    if (s.check.status !== 'verified' || !p) {
      decision ??= { grade: 'signed', approved: 'unknown', ...common, reason: `${s.uri}: ${s.check.reason}; not an approval` };
      continue;
    }
    if (!p.approver) {
      decision ??= {
        grade: 'signed-verified',
        approved: 'unknown',
        ...common,
        reason: `${s.uri}: signed by "${p.name}", which may not approve (approver: false in --trust)`,
      };
      continue;
    }
    if (p.verifiers && (!verifier || !p.verifiers.includes(verifier))) {
      decision ??= {
        grade: 'signed-verified',
        approved: 'unknown',
        ...common,
        reason: `${s.uri}: "${p.name}" may approve only for verifiers ${p.verifiers.join(', ')}, not ${verifier ?? '(none)'}`,
      };
      continue;
    }
    const passed = v ? v.verificationResult === 'PASSED' : r!.properties.some((x) => /APPROVED/.test(x) && !/NOT_APPROVED|UNAPPROVED/.test(x));
    const d = {
      grade: 'signed-verified' as const,
      approved: passed,
      ...common,
      reason: passed
        ? `${kind.toUpperCase()} from approver "${p.name}"${v ? ` (verificationResult PASSED${v.verifiedLevels.length ? `, ${v.verifiedLevels.join(', ')}` : ''})` : ` (${r!.properties.join(', ')})`}`
        : `${kind.toUpperCase()} from approver "${p.name}" ${v ? `says ${v.verificationResult ?? 'no result'}` : 'has no approval property'}`,
    };
    // A trusted decision wins over any untrusted one; among trusted ones the latest wins.
    if (!decision || decision.grade !== 'signed-verified' || (d.time ?? '') >= (decision.time ?? '')) decision = d;
  }
  if (decision && retired.retired && decision.approved === true)
    decision = { ...decision, approved: false, reason: `${decision.reason}; but these bytes were retired ${retired.at}: ${retired.reason}` };
  return { ...(decision ?? { grade: 'absent', approved: 'unknown', reason: 'no verification summary (VSA) or SVR about these bytes' }), evidence };
}

async function retiredAnswer(inv: InventoryLookup | undefined, hashed: HashedModel, roots: string[]): Promise<ProvenanceAnswer['retired']> {
  if (!inv) return { grade: 'absent', retired: false, evidence: [] };
  // The model itself (`retire <root digest>`), then any of its files.
  const candidates = [...roots.map((digest) => ({ digest, what: 'the model' })), ...[...hashed.fileSha256].map(([path, digest]) => ({ digest, what: path }))];
  for (const { digest, what } of candidates) {
    const r = await inv.retirement(digest);
    if (r)
      return {
        grade: 'declared',
        retired: true,
        at: r.at,
        reason: r.reason,
        evidence: [{ uri: `sha256:${digest}`, kind: 'inventory-retirement', grade: 'declared', detail: `retire recorded for ${what}` }],
      };
  }
  return {
    grade: 'declared',
    retired: false,
    evidence: [{ uri: 'inventory', kind: 'inventory', grade: 'declared', detail: 'no retirement recorded for the model or any of its files' }],
  };
}

/** Copies: places the inventory has seen holding every file of the model with the same bytes. */
async function copiesAnswer(inv: InventoryLookup | undefined, hashed: HashedModel, tree: ModelTree, roots: string[]): Promise<ProvenanceAnswer['copies']> {
  if (!inv || hashed.fileSha256.size === 0) return { grade: 'absent', count: 0, locations: [], evidence: [] };
  // Signed models the scans recorded by root digest (any store), as well as places holding every file.
  const byRoot = new Set<string>();
  for (const root of roots) for (const l of await inv.modelLocations(root)) byRoot.add(l);
  let common: Map<string, number> | undefined;
  for (const [path, d] of hashed.fileSha256) {
    const here = new Map<string, number>();
    for (const loc of await inv.locations(d)) {
      // The model's directory in that store: the location minus the file's relative path.
      const suffix = tree.single ? loc.slice(loc.lastIndexOf('/') + 1) : path;
      const dir = loc.endsWith(suffix) ? loc.slice(0, loc.length - suffix.length) : undefined;
      if (dir !== undefined) here.set(dir, 1);
    }
    common = common ? new Map([...common].filter(([k]) => here.has(k))) : here;
    if (!common.size) break;
  }
  const locations = [...(common?.keys() ?? [])].sort();
  return {
    grade: 'declared',
    count: locations.length,
    locations,
    evidence: [{ uri: 'inventory', kind: 'inventory', grade: 'declared', detail: 'locations holding every file of the model' }],
  };
}

function quantumAnswer(
  tree: ModelTree,
  model: { uri: string; check: SignatureCheck } | undefined,
  cosignatures: ProvenanceAnswer['integrity']['cosignatures'],
  matched: { s: EvidenceStatement; match: Match }[],
  options: ProvenanceOptions,
): ProvenanceAnswer['quantum'] {
  const sigs: { from: string; role: SignatureExposure['role']; check: SignatureCheck }[] = [];
  if (model && model.check.algorithm) sigs.push({ from: model.uri, role: 'model-signature', check: model.check });
  for (const { s } of matched) if (s.check.algorithm && s.check.status !== 'failed') sigs.push({ from: s.uri, role: 'attestation', check: s.check });
  const findings: Finding[] = sigs.map((x) => ({
    kind: 'signature',
    format: x.check.method === 'sigstore' ? 'sigstore' : 'dsse',
    algorithm: x.check.algorithm!.algorithm,
    quantum: x.check.algorithm!.quantum,
    location: { path: x.from },
    ...(x.check.time ? { created: x.check.time.at } : {}),
  }));
  for (const c of cosignatures)
    if (c.algorithm && c.status !== 'failed') {
      const d = catalogue().byId(c.algorithm);
      findings.push({ kind: 'signature', format: 'dsse', algorithm: d.algorithm, quantum: d.quantum, location: { path: c.uri } });
      sigs.push({ from: c.uri, role: 'model-signature', check: { status: c.status, method: 'hybrid', reason: c.reason, algorithm: d } });
    }
  if (!findings.length) return { grade: 'absent', signatures: [], evidence: [] };
  // Score as the model itself: the model-weights class and its lifetime (rules/lifetimes.yaml).
  const artifact: ArtifactResult = {
    uri: tree.uri,
    parent: null,
    sha256: null,
    size: 0,
    annotations: { 'shelflife.class': 'model-weights' },
    findings,
    errors: [],
  };
  scoreArtifact(artifact, undefined, prepareScoring({ ...options.scoring, ...(options.now ? { now: options.now } : {}) }));
  const signatures: SignatureExposure[] = findings.map((f, i) => ({
    from: sigs[i].from,
    role: sigs[i].role,
    algorithm: f.algorithm.id,
    quantum: f.quantum.status,
    ...(sigs[i].check.signer ? { signer: sigs[i].check.signer } : {}),
    check: sigs[i].check.status,
    ...(f.exposure ? { exposure: f.exposure } : {}),
  }));
  const order = ['none', 'low', 'medium', 'high', 'critical'];
  const worst = signatures.reduce<string | undefined>(
    (w, s) => (s.exposure && (!w || order.indexOf(s.exposure.severity) > order.indexOf(w)) ? s.exposure.severity : w),
    undefined,
  );
  return {
    grade: best(sigs.map((s) => gradeOf(s.check))),
    ...(worst ? { worst } : {}),
    signatures,
    evidence: sigs.map((s) => ({ uri: s.from, kind: s.role, grade: gradeOf(s.check) })),
  };
}
