/**
 * CycloneDX 1.6 for models: the provenance answer as a BOM (`provenance --format cbom`), and the lifecycle record
 * `retire` writes.
 * - The model is a `machine-learning-model` component (its OpenSSF Model Signing root digest as its SHA-256 hash,
 *   since it identifies exactly these bytes), its lineage in `pedigree.ancestors` (parents; datasets are `data`
 *   components the model depends on), its evaluation in `modelCard.quantitativeAnalysis.performanceMetrics`;
 *   every signature in its chain is a `cryptographic-asset` (algorithm, NIST quantum security level) the model
 *   depends on; grades and evidence are `shelflife:` properties.
 * - Retirement: a BOM whose `metadata.lifecycles` is `[{ phase: "decommission" }]` (CycloneDX 1.6 lifecycle phases)
 *   about the retired component, with the reason.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { catalogue } from '../catalogue/index.js';
import { VERSION } from '../version.js';
import type { Dependency, ProvenanceAnswer } from './answer.js';

const SCHEMA = 'http://cyclonedx.org/schema/bom-1.6.schema.json';

const prop = (name: string, value: string | undefined) => (value ? [{ name: `shelflife:${name}`, value }] : []);

function nistLevel(status: string, classicalBits: number | null, nist: number | null): number {
  if (status === 'vulnerable' || status === 'unknown') return 0;
  if (nist) return nist;
  const bits = classicalBits ?? 0;
  return bits >= 256 ? 5 : bits >= 192 ? 3 : bits >= 128 ? 1 : 0;
}

function hashesOf(d: Dependency): { alg: string; content: string }[] {
  const out: { alg: string; content: string }[] = [];
  for (const [k, v] of Object.entries(d.digest ?? {})) {
    const alg = k === 'sha256' ? 'SHA-256' : k === 'sha512' ? 'SHA-512' : k === 'sha384' ? 'SHA-384' : undefined;
    if (alg && /^[0-9a-f]+$/.test(v)) out.push({ alg, content: v });
  }
  return out;
}

function dependencyComponent(d: Dependency, type: 'machine-learning-model' | 'data', i: number): Record<string, unknown> {
  const hashes = hashesOf(d);
  return {
    type,
    'bom-ref': `${type === 'data' ? 'dataset' : 'parent'}/${i}`,
    name: d.name ?? d.uri ?? 'unnamed',
    ...(hashes.length ? { hashes } : {}),
    ...(d.uri && /^[a-z][a-z0-9+.-]*:/i.test(d.uri) ? { externalReferences: [{ type: type === 'data' ? 'distribution' : 'vcs', url: d.uri }] } : {}),
    ...(type === 'data' ? { data: [{ type: 'dataset', name: d.name ?? d.uri ?? 'dataset' }] } : {}),
    properties: [...prop('grade', d.grade), ...prop('evidence', d.from)],
  };
}

/** The provenance answer as a CycloneDX 1.6 BOM. */
export function provenanceBom(a: ProvenanceAnswer): Record<string, unknown> {
  const modelRef = `model/${a.subject.digest}`;
  const parents = a.lineage.parents.map((p, i) => dependencyComponent(p, 'machine-learning-model', i));
  const datasets = a.lineage.datasets.map((d, i) => dependencyComponent(d, 'data', i));
  const cat = catalogue();
  const algorithms = new Map<string, Record<string, unknown>>();
  for (const s of a.quantum.signatures) {
    const ref = `crypto/algorithm/${s.algorithm}`;
    if (algorithms.has(ref)) continue;
    const d = cat.byId(s.algorithm);
    algorithms.set(ref, {
      type: 'cryptographic-asset',
      'bom-ref': ref,
      name: s.algorithm,
      cryptoProperties: {
        assetType: 'algorithm',
        algorithmProperties: {
          primitive: 'signature',
          executionEnvironment: 'unknown',
          implementationPlatform: 'unknown',
          cryptoFunctions: ['verify'],
          ...(d.quantum.classicalBits !== null ? { classicalSecurityLevel: d.quantum.classicalBits } : {}),
          nistQuantumSecurityLevel: nistLevel(s.quantum, d.quantum.classicalBits, d.quantum.nistLevel),
        },
      },
      properties: [...prop('quantumStatus', s.quantum)],
    });
  }
  const metrics = a.evaluation.benchmarks
    .filter((b) => b.result !== undefined)
    .map((b) => ({ type: b.metric ?? b.name ?? 'result', value: String(b.result), ...(b.name ? { slice: b.name } : {}) }));
  const digest = a.subject.digest.replace(/^sha256:/, '');
  const model = {
    type: 'machine-learning-model',
    'bom-ref': modelRef,
    name: a.subject.name || a.model,
    hashes: [{ alg: 'SHA-256', content: digest }],
    ...(parents.length ? { pedigree: { ancestors: parents } } : {}),
    ...(metrics.length ? { modelCard: { quantitativeAnalysis: { performanceMetrics: metrics } } } : {}),
    properties: [
      ...prop('uri', a.model),
      ...prop('subject.source', a.subject.source),
      ...prop('integrity', `${a.integrity.status} (${a.integrity.grade})`),
      ...prop('lineage.grade', a.lineage.grade),
      ...prop('lineage.builder', a.lineage.builder),
      ...prop('evaluation.grade', a.evaluation.grade),
      ...prop('evaluation.time', a.evaluation.time),
      ...prop('approval', `${String(a.approval.approved)} (${a.approval.grade})`),
      ...prop('approval.verifier', a.approval.verifier),
      ...prop('retired', a.retired.retired ? `${a.retired.at}: ${a.retired.reason}` : undefined),
    ],
  };
  return {
    $schema: SCHEMA,
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: a.generatedAt,
      tools: { components: [{ type: 'application', name: 'shelflife', version: VERSION }] },
      component: model,
      ...(a.retired.retired ? { lifecycles: [{ phase: 'decommission' }] } : {}),
    },
    components: [...datasets, ...algorithms.values()],
    dependencies: [{ ref: modelRef, dependsOn: [...datasets.map((d) => d['bom-ref'] as string), ...algorithms.keys()] }],
  };
}

/** The record `retire` writes: a CycloneDX 1.6 BOM in the `decommission` lifecycle phase about the retired bytes. */
export function decommissionRecord(opts: {
  sha256: string;
  kind: 'artifact' | 'model';
  locations: string[];
  reason: string;
  at: string;
}): Record<string, unknown> {
  const name = opts.locations[0]?.replace(/\/$/, '').split('/').pop() || `sha256:${opts.sha256}`;
  return {
    $schema: SCHEMA,
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: opts.at,
      lifecycles: [{ phase: 'decommission' }],
      tools: { components: [{ type: 'application', name: 'shelflife', version: VERSION }] },
      component: {
        type: opts.kind === 'model' ? 'machine-learning-model' : 'file',
        'bom-ref': `sha256:${opts.sha256}`,
        name: decodeURIComponent(name),
        hashes: [{ alg: 'SHA-256', content: opts.sha256 }],
        properties: [
          { name: 'shelflife:retired.reason', value: opts.reason },
          { name: 'shelflife:retired.at', value: opts.at },
          ...opts.locations.slice(0, 1000).map((l) => ({ name: 'shelflife:location', value: l })),
        ],
      },
    },
  };
}
