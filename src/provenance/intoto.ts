/**
 * DSSE envelopes (secure-systems-lab/dsse v1.0 envelope.md) and the in-toto attestations they carry
 * (in-toto/attestation spec v1: Statement `_type`, `subject[] ResourceDescriptor`, `predicateType`, `predicate`),
 * with the four predicates that answer provenance questions, read into plain records:
 * - SLSA Provenance v1 (`https://slsa.dev/provenance/v1`): buildDefinition.resolvedDependencies, runDetails.builder.id,
 *   runDetails.metadata.startedOn/finishedOn — lineage;
 * - in-toto test-result v0.1 (`https://in-toto.io/attestation/test-result/v0.1`): result, configuration[], url,
 *   passed/warned/failedTests — evaluation (no time field: the time comes from the signature);
 * - SLSA VSA v1 (`https://slsa.dev/verification_summary/v1`): verifier.id, timeVerified, resourceUri, policy,
 *   verificationResult, verifiedLevels — approval;
 * - in-toto SVR v0.2 (`https://in-toto.io/attestation/svr/v0.2`): verifier {id, policies}, timeCreated, properties —
 *   approval.
 * Pure and bounded: hostile statements become ParseErrors naming the document.
 * @module
 */
import { ParseError } from '../errors.js';
import { asObject, decodeBase64 } from './sigstore-bundle.js';

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const SLSA_VSA_V1 = 'https://slsa.dev/verification_summary/v1';
export const TEST_RESULT_V01 = 'https://in-toto.io/attestation/test-result/v0.1';
export const SVR_V02 = 'https://in-toto.io/attestation/svr/v0.2';
const STATEMENT_TYPES = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];
const MAX_SIGNATURES = 16;
const MAX_SUBJECTS = 100_000;
const MAX_LIST = 10_000;

export interface DsseEnvelope {
  payloadType: string;
  payload: Uint8Array;
  signatures: { keyid?: string; sig: Uint8Array }[];
}

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  /** Algorithm → lower-case hex (or the value as written for non-hex algorithms like gitCommit). */
  digest: Record<string, string>;
}

export interface Statement {
  type: string;
  subjects: ResourceDescriptor[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

export function parseDsseEnvelope(env: Record<string, unknown>, what: string): DsseEnvelope {
  if (typeof env.payloadType !== 'string' || typeof env.payload !== 'string' || !Array.isArray(env.signatures))
    throw new ParseError(`${what}: not a DSSE envelope (payloadType, payload and signatures are required)`);
  if (env.signatures.length === 0 || env.signatures.length > MAX_SIGNATURES)
    throw new ParseError(`${what}: a DSSE envelope with ${env.signatures.length} signatures (1 to ${MAX_SIGNATURES})`);
  return {
    payloadType: env.payloadType,
    payload: decodeBase64(env.payload, `${what}: DSSE payload`),
    signatures: env.signatures.map((s, i) => {
      const o = asObject(s);
      if (!o) throw new ParseError(`${what}: DSSE signatures[${i}] is not an object`);
      return { ...(typeof o.keyid === 'string' && o.keyid ? { keyid: o.keyid } : {}), sig: decodeBase64(o.sig, `${what}: DSSE signatures[${i}].sig`) };
    }),
  };
}

/** The in-toto Statement inside an envelope (payloadType must be in-toto JSON). */
export function parseStatement(env: DsseEnvelope, what: string): Statement {
  if (env.payloadType !== INTOTO_PAYLOAD_TYPE) throw new ParseError(`${what}: DSSE payloadType ${env.payloadType} is not ${INTOTO_PAYLOAD_TYPE}`);
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(env.payload));
  } catch (e) {
    throw new ParseError(`${what}: the DSSE payload is not JSON: ${(e as Error).message}`);
  }
  const st = asObject(v);
  if (!st || typeof st._type !== 'string' || !STATEMENT_TYPES.includes(st._type))
    throw new ParseError(`${what}: the payload is not an in-toto Statement (v1 or v0.1)`);
  if (typeof st.predicateType !== 'string') throw new ParseError(`${what}: the statement has no predicateType`);
  if (!Array.isArray(st.subject) || st.subject.length > MAX_SUBJECTS)
    throw new ParseError(`${what}: the statement's subject is not a list (at most ${MAX_SUBJECTS})`);
  return {
    type: st._type,
    subjects: st.subject.map((s, i) => readDescriptor(s, `${what}: subject[${i}]`)),
    predicateType: st.predicateType,
    predicate: asObject(st.predicate) ?? {},
  };
}

export function readDescriptor(v: unknown, what: string): ResourceDescriptor {
  const o = asObject(v);
  if (!o) throw new ParseError(`${what} is not a ResourceDescriptor`);
  const digest: Record<string, string> = {};
  const d = asObject(o.digest);
  if (d)
    for (const [k, x] of Object.entries(d).slice(0, 32)) {
      if (typeof x !== 'string' || x.length > 1024) throw new ParseError(`${what}: digest.${k} is not a string`);
      digest[k] = /^[0-9a-fA-F]+$/.test(x) ? x.toLowerCase() : x;
    }
  return {
    ...(typeof o.name === 'string' ? { name: o.name.slice(0, 4096) } : {}),
    ...(typeof o.uri === 'string' ? { uri: o.uri.slice(0, 4096) } : {}),
    digest,
  };
}

export interface SlsaProvenance {
  builderId?: string;
  buildType?: string;
  resolvedDependencies: ResourceDescriptor[];
  startedOn?: string;
  finishedOn?: string;
  invocationId?: string;
}

export function readSlsaProvenance(p: Record<string, unknown>, what: string): SlsaProvenance {
  const bd = asObject(p.buildDefinition) ?? {};
  const rd = asObject(p.runDetails) ?? {};
  const md = asObject(rd.metadata) ?? {};
  const deps = list(bd.resolvedDependencies, `${what}: resolvedDependencies`).map((d, i) => readDescriptor(d, `${what}: resolvedDependencies[${i}]`));
  return {
    ...optional('builderId', asObject(rd.builder)?.id),
    ...optional('buildType', bd.buildType),
    resolvedDependencies: deps,
    ...optional('startedOn', md.startedOn),
    ...optional('finishedOn', md.finishedOn),
    ...optional('invocationId', md.invocationId),
  };
}

export interface TestResult {
  result?: string;
  configuration: ResourceDescriptor[];
  url?: string;
  passedTests: string[];
  warnedTests: string[];
  failedTests: string[];
}

export function readTestResult(p: Record<string, unknown>, what: string): TestResult {
  const names = (v: unknown, field: string) =>
    list(v, `${what}: ${field}`)
      .filter((x): x is string => typeof x === 'string')
      .map((x) => x.slice(0, 1024));
  return {
    ...optional('result', p.result),
    configuration: list(p.configuration, `${what}: configuration`).map((d, i) => readDescriptor(d, `${what}: configuration[${i}]`)),
    ...optional('url', p.url),
    passedTests: names(p.passedTests, 'passedTests'),
    warnedTests: names(p.warnedTests, 'warnedTests'),
    failedTests: names(p.failedTests, 'failedTests'),
  };
}

export interface VerificationSummary {
  verifierId?: string;
  timeVerified?: string;
  resourceUri?: string;
  policy?: ResourceDescriptor;
  verificationResult?: string;
  verifiedLevels: string[];
}

export function readVsa(p: Record<string, unknown>, what: string): VerificationSummary {
  return {
    ...optional('verifierId', asObject(p.verifier)?.id),
    ...optional('timeVerified', p.timeVerified),
    ...optional('resourceUri', p.resourceUri),
    ...(asObject(p.policy) ? { policy: readDescriptor(p.policy, `${what}: policy`) } : {}),
    ...optional('verificationResult', p.verificationResult),
    verifiedLevels: list(p.verifiedLevels, `${what}: verifiedLevels`).filter((x): x is string => typeof x === 'string'),
  };
}

export interface SimpleVerificationResult {
  verifierId?: string;
  policies: ResourceDescriptor[];
  timeCreated?: string;
  properties: string[];
}

export function readSvr(p: Record<string, unknown>, what: string): SimpleVerificationResult {
  const v = asObject(p.verifier) ?? {};
  return {
    ...optional('verifierId', v.id),
    policies: list(v.policies, `${what}: verifier.policies`).map((d, i) => readDescriptor(d, `${what}: verifier.policies[${i}]`)),
    ...optional('timeCreated', p.timeCreated),
    properties: list(p.properties, `${what}: properties`).filter((x): x is string => typeof x === 'string'),
  };
}

function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ParseError(`${what} is not a list`);
  if (v.length > MAX_LIST) throw new ParseError(`${what} has more than ${MAX_LIST} entries`);
  return v;
}

function optional<K extends string>(key: K, v: unknown): { [k in K]?: string } {
  return typeof v === 'string' && v ? ({ [key]: v.slice(0, 4096) } as { [k in K]: string }) : {};
}
