/**
 * Signatures cover what they sign, wherever they sit (docs/coverage.md): one pass over a scan's results, whatever
 * sources they came from and in whatever order they were walked, that links each signature to the artifacts it signs.
 *
 * - Detached signatures beside a file: `X.asc`, `X.sig`, `X.gpg`, `X.sign`, `X.minisig`, `X.p7s`, `X.p7m`,
 *   `X.sigstore.json`, `X.sigstore`, `X.bundle`, `X.intoto.jsonl`, cosign's `X.sig` (with `X.pem` / `X.crt`), and
 *   shelflife's hybrid sidecars (`X.p7s`, `X.hybrid.json`, a member's `<archive>!<member>.p7s`) make X `signed`.
 * - Checksum files (`SHA256SUMS`, `checksums.txt`, `X.sha256`, BSD lines; src/sources/checksum-lists.ts) signed by a
 *   detached signature or cleartext-signed make every file they list `covered`, its digest compared with the listed
 *   one; an unsigned one covers nothing (`index-unsigned`).
 * - OpenSSF Model Signing `model.sig` (and shelflife's `model.sig.hybrid.json` over the same statement) covers the
 *   files its manifest lists, digests compared with the signature's own hash (src/provenance/model-signing.ts).
 * Which file signs which is found by name beside it; whether it is a signature is the detectors' call (a signature
 * finding on it), and whether it signs these bytes is checked (src/scan/signature-checks.ts): `verified`, `failed`
 * (an error on the artifact, never a link) or `unverifiable` (with the reason). Checks need the signed artifact's
 * digest: the scan's SHA-256 when that is what the signature uses, else one streamed second read of a local file.
 * @module
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { errorMessage, ShelflifeError } from '../errors.js';
import { EVIDENCE_FILE_LIMIT } from '../limits.js';
import type { Source } from '../sources/types.js';
import type { ArtifactResult, ErrorEntry, Finding, QuantumStatus, SignatureLink, SignatureVerification } from '../model.js';
import { OMS_PREDICATE_LEGACY, OMS_PREDICATE_V1, parseModelSignature, splitShard, type ModelSignature } from '../provenance/model-signing.js';
import { NO_TRUST } from '../provenance/trust.js';
import { checkSignature } from '../provenance/verify.js';
import { verify as compositeVerify } from '../resign/composite.js';
import { DSSE_PAYLOAD_TYPE, pae, parseBundle } from '../resign/dsse.js';
import { isChecksumFile, parseChecksums, type ChecksumEntry } from '../sources/checksum-lists.js';
import { COSIGN_CERT_SUFFIXES, DETACHED_SUFFIXES } from '../sources/signature-names.js';
import { weaker } from '../sources/hashes.js';
import { answeredBySha256, digestsOver, requestKey } from './digests.js';
import { joinVerifiedSigner, markAbsent, ociLayerOf } from './signers.js';
import {
  base64Signature,
  checkCleartext,
  checkCosignPayload,
  digestOf,
  hex,
  isPlanned,
  KeyRing,
  nodeHashName,
  planDetachedChecks,
  type CheckOutcome,
  type DigestRequest,
  type Planned,
} from './signature-checks.js';

/** At most this many subject URIs are listed in `signs` (the count is never lost: every subject carries the link). */
const MAX_SIGNS = 100;
/** Second reads of signed files in flight. */
const REREADS = 4;

export interface CoverageInput {
  artifacts: ArtifactResult[];
  /** Bytes the engine kept of small evidence objects (signature files, checksum lists, keys, model signatures), by URI. */
  evidence: ReadonlyMap<string, Uint8Array>;
  /** A second read of an artifact's bytes, where the store allows one (local files), or undefined. */
  reread?: (a: ArtifactResult) => AsyncIterable<Uint8Array> | undefined;
}

/** Where an artifact sits, for finding what lies beside it: a directory key and a name within it. */
export function placeOf(a: ArtifactResult): { dir: string; name: string } | undefined {
  let path: string | undefined;
  const ann = a.annotations ?? {};
  if (a.member !== undefined && a.parent) path = `${a.parent}!/${a.member}`;
  else if (ann['oci.blob'] && a.parent && ann['org.opencontainers.image.title']) path = `${a.parent}#/${ann['org.opencontainers.image.title']}`;
  else if (ann['s3.key'] && ann['s3.bucket']) {
    if (ann['s3.isLatest'] === 'false' || ann['s3.deleteMarker']) return undefined;
    path = `s3://${ann['s3.bucket']}/${ann['s3.key']}`;
  } else if (a.uri.startsWith('file://')) {
    try {
      path = `file://${fileURLToPath(a.uri)}`;
    } catch {
      return undefined; // not a local path (a file URI with a host): nothing beside it
    }
  } else if (/^https?:\/\//i.test(a.uri)) {
    try {
      const u = new URL(a.uri);
      path = `${u.origin}${decodeURIComponent(u.pathname)}`;
    } catch {
      return undefined; // not a URL with a decodable path
    }
  }
  if (!path) return undefined;
  const slash = path.lastIndexOf('/');
  return { dir: path.slice(0, slash + 1), name: path.slice(slash + 1) };
}

/** A check on one subject: what it needs of the subject's bytes, and what to do with the outcome. */
interface Check {
  subject: ArtifactResult;
  planned: Planned;
  done(o: CheckOutcome): void;
}

class Places {
  private readonly byDir = new Map<string, Map<string, ArtifactResult>>();

  constructor(artifacts: ArtifactResult[]) {
    for (const a of artifacts) {
      if (a.skipped || a.sha256 === null) continue;
      const p = placeOf(a);
      if (!p) continue;
      let m = this.byDir.get(p.dir);
      if (!m) this.byDir.set(p.dir, (m = new Map()));
      if (!m.has(p.name)) m.set(p.name, a);
    }
  }

  /** Every artifact directly in `dir`. */
  inDir(dir: string): ArtifactResult[] {
    return [...(this.byDir.get(dir)?.values() ?? [])];
  }

  /** The artifact at `dir` + a relative path (`sub/fw.bin`), if the scan holds one. */
  at(dir: string, rel: string): ArtifactResult | undefined {
    const full = dir + rel;
    const slash = full.lastIndexOf('/');
    return this.byDir.get(full.slice(0, slash + 1))?.get(full.slice(slash + 1));
  }
}

/** A second read of an artifact from whichever of the scan's sources yielded it (scan() and the distributed finalize). */
export function rereadFrom(sources: readonly Pick<Source, 'reread'>[]): NonNullable<CoverageInput['reread']> {
  return (a) => {
    for (const s of sources) {
      const stream = s.reread?.(a);
      if (stream) return stream;
    }
    return undefined;
  };
}

export async function linkSignatures(input: CoverageInput): Promise<void> {
  const { artifacts } = input;
  const byUri = new Map(artifacts.map((a) => [a.uri, a]));
  const places = new Places(artifacts);
  const bytesCache = new Map<string, Uint8Array | null>();
  const bytesOf = async (a: ArtifactResult): Promise<Uint8Array | undefined> => {
    if (bytesCache.has(a.uri)) return bytesCache.get(a.uri) ?? undefined;
    let b = input.evidence.get(a.uri);
    if (!b && a.size <= EVIDENCE_FILE_LIMIT) b = await readWhole(input.reread?.(a), EVIDENCE_FILE_LIMIT);
    bytesCache.set(a.uri, b ?? null);
    return b;
  };
  // Keys in the scan, for signatures that name a key without carrying it: gathered (every key and certificate file
  // read again and parsed) only when the scan holds a signature, checksum list or model signature to check, so a tree
  // of certificates alone, or an unchanged rescan of one, does not pay for it.
  let ring: Promise<KeyRing> | undefined;
  const keyRing = (): Promise<KeyRing> =>
    (ring ??= (async () => {
      const keys = new KeyRing();
      for (const a of artifacts) {
        if (!a.findings.some((f) => f.kind === 'public-key' || f.kind === 'certificate')) continue;
        const b = await bytesOf(a);
        if (b) keys.add(b, a);
      }
      return keys;
    })());
  const state = new LinkState(byUri);

  // cosign signatures attached to images, which name no key: joined to the scan's key that verifies them.
  await joinAttachedCosign(artifacts, input.evidence, keyRing);

  // Phase 1: detached signatures and the model signatures' own checks (they need nothing but bytes in hand).
  const phase1: Check[] = [];
  const models: { sig: ArtifactResult; parsed: ModelSignature; own: CheckOutcome; hybrids: { h: ArtifactResult; outcome: CheckOutcome }[] }[] = [];
  const lists: { list: ArtifactResult; entries: ChecksumEntry[]; cleartext: CheckOutcome[] }[] = [];
  for (const s of artifacts) {
    const place = placeOf(s);
    if (!place || s.sha256 === null) continue;
    const predicate = s.annotations?.['intoto.predicateType'];
    if (predicate === OMS_PREDICATE_V1 || predicate === OMS_PREDICATE_LEGACY) {
      const m = await readModel(s, await bytesOf(s), await keyRing(), places, place.dir, bytesOf);
      if (m) models.push(m);
      continue;
    }
    if (isChecksumFile(place.name)) {
      const b = await bytesOf(s);
      if (b) lists.push({ list: s, entries: parseChecksums(new TextDecoder().decode(b), place.name), cleartext: checkCleartext(b, s.uri, await keyRing()) });
    }
    const target = detachedSubject(s, place, places, byUri);
    if (!target || target.subject === s) continue;
    if (/^model\.sig\.hybrid(-2)?\.json$/.test(place.name)) continue; // a model signature's re-signature: read with it
    phase1.push(...(await planDetached(s, target.subject, target.cosignCert, place, keyRing, bytesOf, state)));
  }
  await resolve(phase1, input.reread, input.evidence);

  // Phase 2: what signed checksum files and model signatures list.
  const phase2: Check[] = [];
  for (const { list, entries, cleartext } of lists) {
    const dir = placeOf(list)!.dir;
    const signers = state.signaturesOn(list, cleartext);
    // A checksum list nobody signed vouches for nothing: it is itself unsigned (as a release store's index would be).
    if (!signers.length && entries.some((e) => places.at(dir, e.name))) state.unsignedList(list);
    for (const e of entries) {
      const x = places.at(dir, e.name);
      if (!x || x === list) continue;
      state.listed(x, !!signers.length);
      const hash = nodeHashName(e.hash);
      if (!hash) continue;
      const expected = e.hex;
      phase2.push({
        subject: x,
        planned: {
          requests: [{ hash }],
          finish: ([d]) => (hex(d) === expected ? { verification: 'verified' } : { verification: 'failed', reason: e.hash }),
        },
        done: (o) => {
          if (o.verification === 'failed') {
            state.error(x, {
              code: 'malformed',
              message: signers.length
                ? `does not match the signed checksum in ${place(list)}`
                : `does not match the checksum in ${place(list)} (which nobody signed)`,
              uri: list.uri,
              source: 'coverage',
            });
            return;
          }
          for (const sg of signers) state.link(x, sg.holder, sg.finding, 'checksum', worst(sg.outcome, o), list, e.hash);
          if (e.hash === 'MD5' || e.hash === 'SHA-1')
            state.error(x, {
              code: 'malformed',
              message: `${place(list)} gives only ${e.hash} for this file; a collision-broken hash breaks the signed chain`,
              uri: list.uri,
              source: 'coverage',
            });
        },
      });
    }
  }
  for (const m of models) {
    const dir = placeOf(m.sig)!.dir;
    const signers: { holder: ArtifactResult; outcome: CheckOutcome }[] = [];
    if (m.own.verification !== 'failed') signers.push({ holder: m.sig, outcome: m.own });
    else state.error(m.sig, { code: 'malformed', message: `the model signature does not verify: ${m.own.reason ?? ''}`.trim(), source: 'coverage' });
    for (const h of m.hybrids) {
      if (h.outcome.verification === 'failed')
        state.error(m.sig, {
          code: 'malformed',
          message: `its hybrid re-signature does not verify: ${h.outcome.reason ?? ''}`.trim(),
          uri: h.h.uri,
          source: 'coverage',
        });
      else signers.push({ holder: h.h, outcome: h.outcome });
    }
    phase2.push(...modelChecks(m.parsed, dir, places, m.sig, signers, state));
  }
  await resolve(phase2, input.reread, input.evidence);
  state.finish(artifacts);
}

/**
 * cosign signatures attached to an OCI image that name no key (src/sources/oci.ts; the engine links them `attached`,
 * unverifiable): each is verified over the simple-signing payload it names (`details.payloadDigest`, kept with the
 * signature as evidence by the engine) with the scan's keys of its family, and joined to the key that verifies it
 * (src/scan/signers.ts joinVerifiedSigner): its link is then `verified`. One that no key verifies says its signer is
 * not in the scan; one whose payload names another image is an error on the image, not a link. A keyless signature
 * (a certificate in its layer) is left to its certificate (signers.ts).
 */
async function joinAttachedCosign(artifacts: ArtifactResult[], evidence: ReadonlyMap<string, Uint8Array>, keyRing: () => Promise<KeyRing>): Promise<void> {
  for (const a of artifacts) {
    const links = (a.signedBy ?? []).filter((l) => l.via === 'attached' && l.format === 'cosign' && l.verification === 'unverifiable');
    if (!links.length) continue;
    const keyless = new Set(a.findings.filter((f) => f.kind === 'certificate').map(ociLayerOf));
    for (const l of links) {
      const f = a.findings[l.finding];
      const payloadDigest = f?.details?.payloadDigest;
      if (f?.kind !== 'signature' || typeof payloadDigest !== 'string' || keyless.has(ociLayerOf(f))) continue;
      const sig = cosignSignatureOf(evidence.get(l.uri));
      const payload = evidence.get(`${a.uri.slice(0, a.uri.lastIndexOf('@') + 1)}${payloadDigest}`);
      if (!sig || !payload || `sha256:${createHash('sha256').update(payload).digest('hex')}` !== payloadDigest) {
        l.reason = 'its signature or the payload it signs was not kept for the check';
        continue;
      }
      const o = checkCosignPayload(sig, payload, a.uri.slice(a.uri.lastIndexOf('@') + 1), await keyRing(), f.algorithm);
      if (o.verification === 'failed') {
        a.signedBy = a.signedBy!.filter((x) => x !== l);
        a.errors.push({ code: 'malformed', message: `the attached signature does not verify over this artifact: ${o.reason}`, uri: l.uri, source: 'coverage' });
        if (!a.signedBy.length) {
          delete a.signedBy;
          if (a.signed === true) delete a.signed;
        }
        continue;
      }
      if (o.verification === 'unverifiable' || !o.algorithm || !o.signer) {
        markAbsent(f);
        l.reason = o.reason ?? 'no key in the scan verifies it';
        continue;
      }
      joinVerifiedSigner(f, o.signer, o.algorithm);
      l.verification = 'verified';
      delete l.reason;
      l.algorithm = f.algorithm.id;
      l.quantum = f.quantum.status as QuantumStatus;
    }
  }
}

/** The signature bytes of the cosign document src/sources/oci.ts makes of a signature annotation. */
function cosignSignatureOf(doc: Uint8Array | undefined): Uint8Array | undefined {
  if (!doc) return undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(doc)) as { base64Signature?: unknown };
    return typeof v?.base64Signature === 'string' ? new Uint8Array(Buffer.from(v.base64Signature, 'base64')) : undefined;
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return undefined; // not the document the source made: nothing to check
  }
}

/** What a signature file beside a file signs: `X` for `X.asc`, the member for `<archive>!<member>.p7s`. */
function detachedSubject(
  s: ArtifactResult,
  p: { dir: string; name: string },
  places: Places,
  byUri: Map<string, ArtifactResult>,
): { subject: ArtifactResult; cosignCert?: ArtifactResult } | undefined {
  for (const suffix of DETACHED_SUFFIXES) {
    if (!p.name.endsWith(suffix) || p.name.length === suffix.length) continue;
    const base = p.name.slice(0, -suffix.length);
    const x = places.at(p.dir, base);
    if (x) {
      const cosignCert = suffix === '.sig' ? COSIGN_CERT_SUFFIXES.map((c) => places.at(p.dir, base + c)).find((c) => c) : undefined;
      return { subject: x, ...(cosignCert ? { cosignCert } : {}) };
    }
    // A member's hybrid sidecar beside its archive (src/resign/writers/fs.ts memberSidecarName).
    const bang = base.indexOf('!');
    if (bang > 0 && (suffix === '.p7s' || suffix === '.hybrid.json' || suffix === '.hybrid.p7s' || suffix === '.hybrid-2.json')) {
      const archive = places.at(p.dir, base.slice(0, bang));
      if (!archive) continue;
      let uri = archive.uri;
      for (const m of base.slice(bang + 1).split('!')) {
        let member: string;
        try {
          member = decodeURIComponent(m);
        } catch {
          uri = '';
          break; // not the escaping resign writes: names no member
        }
        uri = `${uri}!/${memberUri(member)}`;
      }
      const subject = uri ? byUri.get(uri) : undefined;
      if (subject) return { subject };
    }
  }
  return undefined;
}

/** src/containers/types.ts memberUriPath, repeated here as the inverse of resign's member sidecar names. */
function memberUri(path: string): string {
  return path
    .replace(/[%!\\]/g, (c) => ({ '%': '%25', '!': '%21', '\\': '%5C' })[c]!)
    .split('/')
    .map((seg, i) => (seg === '..' ? '%2E%2E' : i === 0 && seg === '' ? '%2F' : seg))
    .join('/');
}

async function planDetached(
  s: ArtifactResult,
  x: ArtifactResult,
  cosignCert: ArtifactResult | undefined,
  place: { dir: string; name: string },
  keyRing: () => Promise<KeyRing>,
  bytesOf: (a: ArtifactResult) => Promise<Uint8Array | undefined>,
  state: LinkState,
): Promise<Check[]> {
  const sigFindings = s.findings.map((f, i) => ({ f, i })).filter(({ f }) => f.kind === 'signature');
  const bytes = await bytesOf(s);
  if (!bytes) {
    // No bytes to check with (a remote object above the evidence limit): linked, but not checked.
    for (const { i } of sigFindings) state.link(x, s, i, 'detached', { verification: 'unverifiable', reason: 'the signature file was not read again' });
    return [];
  }
  const siblingKeys = cosignCert ? [await bytesOf(cosignCert)].filter((b): b is Uint8Array => !!b) : [];
  const planned = planDetachedChecks(bytes, s.uri, { keys: await keyRing(), siblingKeys, subject: place.name });
  // A signature beside the artifact that does not verify over it is an error on the artifact, naming the signature.
  const failedBeside = (o: { reason?: string }) =>
    state.error(x, {
      code: 'malformed',
      message: `the signature beside it does not verify over these bytes: ${o.reason ?? 'no reason given'}`,
      uri: s.uri,
      source: 'coverage',
    });
  if (!planned.length) {
    for (const { i } of sigFindings) state.link(x, s, i, 'detached', { verification: 'unverifiable', reason: 'a signature format shelflife does not check' });
    return [];
  }
  if (!sigFindings.length) {
    // cosign's base64 `.sig` holds no structure a detector can claim: it is a signature once a key verifies it.
    if (!base64Signature(bytes)) return [];
    return planned.map((p) => ({
      subject: x,
      planned: p,
      done: (o) => {
        if (o.verification === 'failed') failedBeside(o);
        if (o.verification !== 'verified' || !o.algorithm) return;
        s.findings.push({
          kind: 'signature',
          format: 'cosign',
          algorithm: o.algorithm.algorithm,
          quantum: o.algorithm.quantum,
          location: { offset: 0 },
          details: { algorithmFrom: cosignCert ? 'the certificate beside it' : 'a key in the scan', detachedFrom: 'coverage' },
        });
        if (o.signer) joinVerifiedSigner(s.findings[s.findings.length - 1], o.signer, o.algorithm);
        state.link(x, s, s.findings.length - 1, 'detached', o);
      },
    }));
  }
  return planned.map((p, k) => ({
    subject: x,
    planned: p,
    done: (o) => {
      const finding = (sigFindings[k] ?? sigFindings[0]).i;
      if (o.verification === 'failed') failedBeside(o);
      else state.link(x, s, finding, 'detached', o);
    },
  }));
}

async function readModel(
  sig: ArtifactResult,
  bytes: Uint8Array | undefined,
  keys: KeyRing,
  places: Places,
  dir: string,
  bytesOf: (a: ArtifactResult) => Promise<Uint8Array | undefined>,
): Promise<{ sig: ArtifactResult; parsed: ModelSignature; own: CheckOutcome; hybrids: { h: ArtifactResult; outcome: CheckOutcome }[] } | undefined> {
  if (!bytes) return undefined;
  let parsed: ModelSignature;
  try {
    parsed = parseModelSignature(bytes, sig.uri);
  } catch (e) {
    if (!(e instanceof ShelflifeError)) throw e;
    sig.errors.push({ code: 'malformed', message: `not a model signature whose files can be checked: ${errorMessage(e)}`, source: 'coverage' });
    return undefined;
  }
  // The statement's signature, with the material the bundle carries or a key found in the scan.
  const trust = { ...NO_TRUST, keys: keys.keys.map((key, i) => ({ kind: 'key' as const, name: `key ${i + 1} in the scan`, key, approver: false })) };
  const check = checkSignature({ envelope: parsed.envelope, bundle: parsed.bundle, legacyModelSignature: parsed.manifest.legacy }, trust);
  const own: CheckOutcome =
    check.status === 'verified' || check.status === 'untrusted'
      ? { verification: 'verified', ...(check.algorithm ? { algorithm: check.algorithm } : {}) }
      : check.status === 'failed'
        ? { verification: 'failed', reason: check.reason }
        : { verification: 'unverifiable', reason: check.reason };
  const hybrids: { h: ArtifactResult; outcome: CheckOutcome }[] = [];
  const name = placeOf(sig)!.name;
  for (const suffix of ['.hybrid.json', '.hybrid-2.json']) {
    const h = places.at(dir, name + suffix);
    const hb = h && (await bytesOf(h));
    if (!h || !hb) continue;
    hybrids.push({ h, outcome: checkHybridModelSignature(hb, h.uri, parsed) });
  }
  return { sig, parsed, own, hybrids };
}

/** shelflife's re-signature of a model (src/resign/model-signature.ts): the same statement, signed with composite ML-DSA. */
function checkHybridModelSignature(bytes: Uint8Array, uri: string, m: ModelSignature): CheckOutcome {
  let b;
  try {
    b = parseBundle(bytes, uri);
  } catch (e) {
    if (!(e instanceof ShelflifeError)) throw e;
    return { verification: 'unverifiable', reason: errorMessage(e) };
  }
  if (Buffer.compare(Buffer.from(b.payload), Buffer.from(m.envelope.payload)) !== 0)
    return { verification: 'failed', reason: 'it signs another statement than the model signature beside it' };
  const r = compositeVerify(b.certificate.publicKey, pae(DSSE_PAYLOAD_TYPE, b.payload), b.signature);
  return r.valid ? { verification: 'verified', postQuantum: true } : { verification: 'failed', reason: r.reason ?? 'the hybrid signature does not verify' };
}

/** Every file a model signature lists, with its digest checked (shards: each range of the file). */
function modelChecks(
  m: ModelSignature,
  dir: string,
  places: Places,
  sig: ArtifactResult,
  signers: { holder: ArtifactResult; outcome: CheckOutcome }[],
  state: LinkState,
): Check[] {
  const method = m.manifest.serialization.method;
  const hash = { sha256: 'sha256', blake2b: 'blake2b512' }[m.manifest.serialization.hashType as string];
  const byFile = new Map<string, { range?: [number, number]; digest: string }[]>();
  for (const r of m.manifest.resources) {
    if (method === 'shards') {
      const s = splitShard(r.name);
      const list = byFile.get(s.path) ?? [];
      list.push({ range: [s.start, s.end], digest: r.digest });
      byFile.set(s.path, list);
    } else if (r.name === '.') {
      // A single-file model: the file beside the signature whose digest this is (matched by digest, never by name).
      const x = m.manifest.serialization.hashType === 'sha256' ? places.inDir(dir).find((a) => a.sha256 === r.digest) : undefined;
      if (x) byFile.set(placeOf(x)!.name, [{ digest: r.digest }]);
    } else byFile.set(r.name, [{ digest: r.digest }]);
  }
  const checks: Check[] = [];
  for (const [name, parts] of byFile) {
    const x = places.at(dir, name);
    if (!x) continue;
    state.listed(x, true);
    const planned: Planned = hash
      ? {
          requests: parts.map((p): DigestRequest => ({ hash, ...(p.range ? { range: p.range } : {}) })),
          finish: (ds) => (ds.every((d, i) => hex(d) === parts[i].digest) ? { verification: 'verified' } : { verification: 'failed' }),
        }
      : { verification: 'unverifiable', reason: `${m.manifest.serialization.hashType} digests are not computed here` };
    checks.push({
      subject: x,
      planned,
      done: (o) => {
        if (o.verification === 'failed') {
          state.error(x, { code: 'malformed', message: `does not match the model signature ${placeOf(sig)!.name}`, uri: sig.uri, source: 'coverage' });
          return;
        }
        for (const s of signers) {
          const finding = s.holder.findings.findIndex((f) => f.kind === 'signature');
          if (finding >= 0)
            state.link(x, s.holder, finding, 'model', worst(s.outcome, o), undefined, m.manifest.serialization.hashType === 'sha256' ? 'SHA-256' : undefined);
        }
      },
    });
  }
  return checks;
}

/** Satisfy every check's digest requests (the scan's SHA-256, else one second read per subject) and finish them. */
async function resolve(checks: Check[], reread: CoverageInput['reread'], evidence: CoverageInput['evidence']): Promise<void> {
  const bySubject = new Map<ArtifactResult, Check[]>();
  for (const c of checks) {
    if (!isPlanned(c.planned)) {
      c.done(c.planned);
      continue;
    }
    const list = bySubject.get(c.subject) ?? [];
    list.push(c);
    bySubject.set(c.subject, list);
  }
  const limit = pLimit(REREADS);
  await Promise.all(
    [...bySubject].map(([subject, list]) =>
      limit(async () => {
        const requests = list.flatMap((c) => (isPlanned(c.planned) ? c.planned.requests : []));
        const known = new Map<string, Uint8Array>();
        if (subject.sha256) for (const r of requests) if (answeredBySha256(r)) known.set(requestKey(r), Buffer.from(subject.sha256, 'hex'));
        // Small signed objects (a checksum list, a model signature) were kept: their digests need no second read.
        const held = evidence.get(subject.uri);
        if (held) for (const r of requests) if (!known.has(requestKey(r))) known.set(requestKey(r), digestOf(held, r));
        const missing = requests.filter((r) => !known.has(requestKey(r)));
        let why: string | undefined;
        if (missing.length) {
          const stream = reread?.(subject);
          if (!stream)
            why =
              subject.member !== undefined
                ? 'a member of an archive is read once, and this signature needs another digest of it'
                : 'the signed object is not read twice, and this signature needs another digest of it';
          else {
            try {
              const r = await digestsOver(stream, missing, subject.sha256);
              if ('changed' in r) why = r.changed;
              else for (const [k, v] of r.digests) known.set(k, v);
            } catch (e) {
              if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) throw e;
              why = `reading it again failed: ${errorMessage(e)}`;
            }
          }
        }
        for (const c of list) {
          const p = c.planned as Exclude<Planned, CheckOutcome>;
          if (p.requests.some((r) => !known.has(requestKey(r)))) c.done({ verification: 'unverifiable', reason: why ?? 'its digest is not known' });
          else c.done(p.finish(p.requests.map((r) => known.get(requestKey(r))!)));
        }
      }),
    ),
  );
}

const ORDER: SignatureVerification[] = ['failed', 'unverifiable', 'verified'];

/** The weaker of two outcomes (a link is as good as the worse of the signature check and the digest comparison). */
function worst(a: CheckOutcome, b: CheckOutcome): CheckOutcome {
  return ORDER.indexOf(a.verification) <= ORDER.indexOf(b.verification) ? a : { ...b, ...(a.postQuantum ? { postQuantum: true } : {}) };
}

function place(a: ArtifactResult): string {
  return placeOf(a)?.name ?? a.uri;
}

/** Links, listings and errors gathered by the pass, written onto the artifacts at the end. */
class LinkState {
  private readonly links = new Map<ArtifactResult, SignatureLink[]>();
  private readonly postQuantum = new Set<SignatureLink>();
  private readonly listedUnsigned = new Set<ArtifactResult>();
  private readonly unsignedLists = new Set<ArtifactResult>();
  private readonly errors = new Map<ArtifactResult, ErrorEntry[]>();

  constructor(private readonly byUri: Map<string, ArtifactResult>) {}

  link(x: ArtifactResult, holder: ArtifactResult, finding: number, via: SignatureLink['via'], o: CheckOutcome, index?: ArtifactResult, hash?: string): void {
    const f: Finding | undefined = holder.findings[finding];
    if (!f || o.verification === 'failed') return;
    if (
      o.algorithm &&
      o.signer &&
      (f.algorithm.parameterKnown === false || f.algorithm.id === o.algorithm.algorithm.id) &&
      o.algorithm.algorithm.family === f.algorithm.family
    ) {
      // The key that verified it is in the scan: the signature takes its parameters and links to it.
      joinVerifiedSigner(f, o.signer, o.algorithm);
    } else if (o.algorithm && f.algorithm.parameterKnown === false && o.algorithm.algorithm.family === f.algorithm.family) {
      // The key that verified it is beside it (cosign's `X.pem`): the signature takes its parameters (DESIGN.md, canonical ids).
      f.algorithm = {
        ...o.algorithm.algorithm,
        ...(f.algorithm.name ? { name: f.algorithm.name } : {}),
        ...(f.algorithm.hash ? { hash: f.algorithm.hash } : {}),
      };
      f.quantum = o.algorithm.quantum;
      f.details = { ...(f.details ?? {}), parameterFrom: 'joined-key' };
    }
    const list = this.links.get(x) ?? [];
    if (list.some((l) => l.uri === holder.uri && l.finding === finding && l.index === index?.uri)) return;
    const link: SignatureLink = {
      uri: holder.uri,
      finding,
      via,
      ...(index ? { index: index.uri } : {}),
      ...(hash && hash !== f.algorithm.hash && weaker(f.algorithm.hash, hash) === hash ? { hash } : {}),
      algorithm: f.algorithm.id,
      quantum: f.quantum.status as QuantumStatus,
      format: f.format,
      verification: o.verification,
      ...(o.verification !== 'verified' && o.reason ? { reason: o.reason } : {}),
    };
    list.push(link);
    this.links.set(x, list);
    if (o.postQuantum) this.postQuantum.add(link);
  }

  unsignedList(list: ArtifactResult): void {
    this.unsignedLists.add(list);
  }

  /** `x` is listed by a checksum file or model signature; by an unsigned one only, it is `index-unsigned`. */
  listed(x: ArtifactResult, signed: boolean): void {
    if (!signed) this.listedUnsigned.add(x);
  }

  error(x: ArtifactResult, e: ErrorEntry): void {
    const list = this.errors.get(x) ?? [];
    if (!list.some((y) => y.message === e.message && y.uri === e.uri)) list.push(e);
    this.errors.set(x, list);
  }

  /** The signatures on a checksum file that count for what it lists: cleartext ones in it, detached ones beside it. */
  signaturesOn(list: ArtifactResult, cleartext: CheckOutcome[]): { holder: ArtifactResult; finding: number; outcome: CheckOutcome }[] {
    const out: { holder: ArtifactResult; finding: number; outcome: CheckOutcome }[] = [];
    const own = list.findings.map((f, i) => ({ f, i })).filter(({ f }) => f.kind === 'signature' && f.details?.cleartext === true);
    own.forEach(({ i }, k) => {
      const o = cleartext[k] ?? { verification: 'unverifiable' as const, reason: 'the cleartext signature was not checked' };
      if (o.verification === 'failed')
        this.error(list, { code: 'malformed', message: `its cleartext signature does not verify: ${o.reason ?? ''}`.trim(), source: 'coverage' });
      else {
        out.push({ holder: list, finding: i, outcome: o });
        this.link(list, list, i, 'attached', o);
      }
    });
    for (const l of this.links.get(list) ?? []) {
      if (l.via !== 'detached') continue;
      const holder = this.byUri.get(l.uri);
      if (holder)
        out.push({
          holder,
          finding: l.finding,
          outcome: { verification: l.verification, ...(l.reason ? { reason: l.reason } : {}), ...(this.postQuantum.has(l) ? { postQuantum: true } : {}) },
        });
    }
    return out;
  }

  finish(artifacts: ArtifactResult[]): void {
    for (const [x, errs] of this.errors) x.errors.push(...errs);
    const signs = new Map<ArtifactResult, Set<string>>();
    const addSigns = (holder: ArtifactResult | undefined, uri: string) => {
      if (!holder || holder.uri === uri) return;
      const s = signs.get(holder) ?? new Set<string>();
      if (s.size < MAX_SIGNS) s.add(uri);
      signs.set(holder, s);
    };
    for (const [x, links] of this.links) {
      x.signedBy = [...(x.signedBy ?? []), ...links];
      for (const l of links) {
        addSigns(this.byUri.get(l.uri), l.index ?? x.uri);
        if (l.index) addSigns(this.byUri.get(l.index), x.uri);
      }
    }
    for (const a of artifacts) {
      const links = a.signedBy ?? [];
      // Its own signature (attached, or detached beside it) first; then a signed list naming its digest.
      if (links.some((l) => l.via === 'attached' || l.via === 'detached')) a.coverage = 'signed';
      else if (links.length) a.coverage = a.coverage === 'signed' ? 'signed' : 'covered';
      else if (this.listedUnsigned.has(a) && (a.coverage === undefined || a.coverage === 'unsigned')) a.coverage = 'index-unsigned';
      else if (this.unsignedLists.has(a) && a.coverage === undefined) a.coverage = 'unsigned';
      if (links.some((l) => l.verification === 'verified' && (this.postQuantum.has(l) || l.quantum === 'hybrid' || l.quantum === 'resistant')))
        a.migration = 'hybrid-signed';
      const s = signs.get(a);
      if (s) a.signs = [...s];
      if (!a.signedBy?.length) delete a.signedBy;
    }
  }
}

/** Read a whole (small) stream, or undefined when there is none or it is larger than `limit`. */
async function readWhole(stream: AsyncIterable<Uint8Array> | undefined, limit: number): Promise<Uint8Array | undefined> {
  if (!stream) return undefined;
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const c of stream) {
      n += c.length;
      if (n > limit) return undefined;
      chunks.push(c);
    }
  } catch (e) {
    if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) throw e;
    return undefined; // gone or unreadable since the scan: no evidence from it
  }
  return new Uint8Array(Buffer.concat(chunks));
}
