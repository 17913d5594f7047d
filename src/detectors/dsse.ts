/**
 * DSSE envelopes (secure-systems-lab/dsse, envelope.md: `{payloadType, payload, signatures: [{keyid, sig}]}`) and
 * the in-toto attestations they carry (in-toto/attestation spec v1: Statement `_type`, `subject[{name, digest}]`,
 * `predicateType`, and SLSA provenance v0.2 `predicate.builder.id` / v1 `predicate.runDetails.builder.id`).
 * A DSSE signature names no algorithm and a keyid is an opaque hint, so the algorithm comes from the signature's
 * shape only when the shape is unambiguous (see describeSignatureShape); otherwise it is reported as unknown.
 * The builder and subject digests become artifact annotations (provenance metadata).
 * @module
 */
import { readNode, TAG } from '../pkix/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { DetectContext, Finding } from '../model.js';
import { arr, base64Bytes, isObject, locator, readJsonDocuments, str, type Json, type JsonObject } from './_json.js';
import type { Detector, DetectResult } from './types.js';
import { rethrowUnlessParseError } from '../errors.js';

export const dsseDetector: Detector = {
  format: 'dsse',
  description: 'DSSE envelopes and in-toto / SLSA attestations (signature algorithms; builder and subject digests as annotations)',
  claims: { names: ['*.intoto.jsonl', '*.dsse', '*.dsse.json', '*.att', '*.att.json'], contains: ['"payloadType"'] },
  detect: detectDsse,
};

function detectDsse(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const annotations: Record<string, string> = {};
  const locate = locator(bytes);
  for (const doc of readJsonDocuments(bytes, ctx)) {
    if (!isDsseEnvelope(doc.value)) continue;
    const r = describeEnvelope(doc.value, doc.offset, 'dsse', undefined, locate);
    findings.push(...r.findings);
    Object.assign(annotations, r.annotations);
  }
  return { findings, annotations };
}

export function isDsseEnvelope(v: JsonObject): boolean {
  return typeof v.payloadType === 'string' && typeof v.payload === 'string' && Array.isArray(v.signatures);
}

/** Signature findings for each DSSE signature (algorithm from `key` when the caller knows it), plus statement annotations. */
export function describeEnvelope(
  env: JsonObject,
  offset: number,
  format: string,
  key?: Described,
  locate: (value: string | undefined, fallback: number) => number = (_v, f) => f,
): { findings: Finding[]; annotations: Record<string, string> } {
  const findings: Finding[] = [];
  const sigs = arr(env.signatures).slice(0, MAX_OBJECTS_PER_ARTIFACT);
  sigs.forEach((s, i) => {
    if (!isObject(s)) return;
    const sig = base64Bytes(str(s.sig));
    const shape = sig ? describeSignatureShape(sig) : undefined;
    const d = key ?? shape?.described ?? catalogue().resolve(undefined);
    findings.push({
      kind: 'signature',
      format,
      algorithm: d.algorithm,
      quantum: d.quantum,
      location: { offset: locate(str(s.sig), offset), path: `signatures[${i}]` },
      ...(str(s.keyid) ? { fingerprint: str(s.keyid) } : {}),
      details: {
        payloadType: str(env.payloadType),
        ...(key ? {} : { algorithmFrom: shape?.from ?? 'not determinable: DSSE records no algorithm' }),
        ...(sig ? { signatureBytes: sig.length } : {}),
      },
    });
  });
  const payload = base64Bytes(str(env.payload));
  let annotations: Record<string, string> = {};
  if (payload && /in-toto/.test(str(env.payloadType) ?? '')) {
    try {
      const statement = JSON.parse(Buffer.from(payload).toString('utf8')) as Json;
      if (isObject(statement)) annotations = statementAnnotations(statement);
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      annotations['intoto.error'] = 'payload is not valid JSON';
    }
  }
  return { findings, annotations };
}

/** in-toto Statement → provenance annotations: predicate type, subjects with digests, SLSA builder id. */
export function statementAnnotations(st: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  if (str(st._type)) out['intoto.statementType'] = str(st._type)!;
  if (str(st.predicateType)) out['intoto.predicateType'] = str(st.predicateType)!;
  const subjects = arr(st.subject)
    .slice(0, 100)
    .filter(isObject)
    .map((s) => {
      const digests = isObject(s.digest) ? Object.entries(s.digest).map(([alg, v]) => `${alg}:${String(v)}`) : [];
      return `${str(s.name) ?? ''}@${digests.join(',')}`;
    });
  if (subjects.length) out['intoto.subjects'] = subjects.join(' ');
  // An OpenSSF Model Signing statement names a model: kept under keys of its own too, so the other statements attached
  // to the same artifact (SLSA provenance, VSAs as OCI referrers) do not overwrite it (src/provenance/scan-models.ts).
  if (out['intoto.predicateType']?.startsWith('https://model_signing/') && subjects.length) {
    out['modelsigning.predicateType'] = out['intoto.predicateType'];
    out['modelsigning.subjects'] = out['intoto.subjects'];
  }
  const p = isObject(st.predicate) ? st.predicate : {};
  const builder =
    (isObject(p.builder) && str(p.builder.id)) || (isObject(p.runDetails) && isObject(p.runDetails.builder) && str(p.runDetails.builder.id)) || undefined;
  if (builder) out['slsa.builderId'] = builder;
  const buildType = str(p.buildType) ?? (isObject(p.buildDefinition) ? str(p.buildDefinition.buildType) : undefined);
  if (buildType) out['slsa.buildType'] = buildType;
  return out;
}

/**
 * What a bare signature's bytes reveal. Only unambiguous shapes are named:
 * - a DER `SEQUENCE { INTEGER r, INTEGER s }` that parses exactly is ECDSA (RFC 3279 Ecdsa-Sig-Value); the curve is
 *   not recorded, so the id is the family with parameterKnown false and the integer width as a hint;
 * - the FIPS 204 signature sizes 2420 / 3309 / 4627 bytes are ML-DSA-44 / 65 / 87;
 * - 64 raw bytes may be Ed25519 or a P-256 r‖s, and RSA sizes may be anything of that length: left unknown.
 */
export function describeSignatureShape(sig: Uint8Array): { described: Described; from: string } | undefined {
  const cat = catalogue();
  const ecdsa = derEcdsaWidth(sig);
  if (ecdsa) {
    const d = cat.resolve({ family: 'ECDSA' });
    return {
      described: d,
      from: `DER ECDSA signature shape (r and s of up to ${ecdsa} bytes: a ${ecdsa <= 33 ? 256 : ecdsa <= 49 ? 384 : 521}-bit curve or smaller)`,
    };
  }
  const pq: Record<number, string> = { 2420: 'ML-DSA-44', 3309: 'ML-DSA-65', 4627: 'ML-DSA-87' };
  if (pq[sig.length]) return { described: cat.byId(pq[sig.length]), from: `FIPS 204 signature length ${sig.length}` };
  return undefined;
}

function derEcdsaWidth(sig: Uint8Array): number | undefined {
  if (sig.length < 8 || sig.length > 141 || sig[0] !== TAG.SEQUENCE) return undefined;
  try {
    const node = readNode(sig, 0, sig.length);
    if (node.end !== sig.length) return undefined;
    const kids = node.children();
    if (kids.length !== 2 || kids.some((k) => k.tag !== TAG.INTEGER || k.length === 0 || k.length > 67)) return undefined;
    return Math.max(kids[0].length, kids[1].length);
  } catch (e) {
    rethrowUnlessParseError(e);
    return undefined;
  }
}
