/**
 * Scans one artifact: its bytes are read once, and that one pass hashes them (sha256), runs the detectors (on the
 * whole artifact when it is small, else window by window, so memory stays flat for files of any size) and, when the
 * head says it is a compressed stream or an archive, expands it, each member scanned as a child artifact under shared
 * depth/entry/byte/ratio limits. Nothing is read twice, so the bytes whose digest is checked are the bytes scanned:
 * when a store's digest does not match, that is an error on the artifact and nothing its bytes said is reported.
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { ExpansionBudget, type ContainerInput, type Member } from '../containers/index.js';
import { containerKind, openContainer } from '../containers/open.js';
import { compressionOfMediaType, sniffCompression } from '../containers/compression.js';
import { memberUriPath } from '../containers/types.js';
import { catalogue } from '../catalogue/index.js';
import { runDetectors, windowsClaimable, type RunResult } from '../detectors/index.js';
import { findingKey } from '../identity.js';
import { ShelflifeError, errorMessage, toErrorEntry } from '../errors.js';
import {
  ATTACHED_EVIDENCE_LIMIT,
  EVIDENCE_FILE_LIMIT,
  EVIDENCE_TOTAL_LIMIT,
  MAX_CONTAINER_DEPTH,
  MEMBER_BUFFER_LIMIT,
  WHOLE_READ_LIMIT,
  WINDOW_OVERLAP,
  WINDOW_SIZE,
} from '../limits.js';
import type { ArtifactResult, DetectContext, ErrorEntry, Finding } from '../model.js';
import type { ArtifactRef, RelatedInfo } from '../sources/types.js';
import { isEvidenceName } from '../sources/signature-names.js';
import { digestOf, isPlanned, KeyRing, planDetachedChecks, type CheckOutcome } from './signature-checks.js';
import { answeredBySha256 } from './digests.js';
import { vouch } from './vouching.js';
import type { DetectPool } from './detect-pool.js';

export interface EngineOptions {
  detectors?: { only?: Set<string>; skip?: Set<string> };
  /** Called once per finished artifact (progress display, streaming sinks). */
  onArtifact?: (a: ArtifactResult) => void;
  /** Overrides for tests and benchmarks. */
  wholeReadLimit?: number;
  maxDepth?: number;
  /** The scan's clock (signing-key expiry in release stores). */
  now?: Date;
  /** Detection threads for whole top-level artifacts (src/scan/detect-pool.ts); inline without. */
  pool?: DetectPool;
}

const HEAD = 4096;

/**
 * Where results go while a top-level artifact is scanned. Members of an artifact whose store promised a digest wait
 * in `held` until the digest is checked at the end of the one pass.
 */
interface Out {
  held?: ArtifactResult[];
}

export class ScanEngine {
  readonly results: ArtifactResult[] = [];
  bytesRead = 0;
  /** Findings in objects several artifacts share (a release index's signatures), detected once. */
  private readonly shared = new WeakMap<ArtifactRef, Finding[]>();
  /**
   * The bytes of small objects a signature check may need once the walk is over (signature files, checksum lists,
   * keys, model signatures: src/scan/coverage.ts), by URI, within EVIDENCE_TOTAL_LIMIT. Large signed files are never
   * kept: their digest is, and a second read of a local file covers the rest.
   */
  readonly evidence = new Map<string, Uint8Array>();
  private evidenceBytes = 0;

  constructor(private readonly options: EngineOptions = {}) {}

  /** Scan a top-level artifact (and, recursively, its members). Never throws for bad input. */
  async scan(ref: ArtifactRef): Promise<void> {
    await this.scanRef(ref, ref.parent ?? null, 0, new ExpansionBudget(), {});
  }

  /** A result enters the report (or the held list) when its scan starts, so a container comes before its members. */
  private record(res: ArtifactResult, out: Out): void {
    if (out.held) out.held.push(res);
    else this.results.push(res);
  }

  /** Told when its scan ends; held results are told when they are released. */
  private finished(res: ArtifactResult, out: Out): void {
    if (!out.held) this.options.onArtifact?.(res);
  }

  private async scanRef(ref: ArtifactRef, parent: string | null, depth: number, budget: ExpansionBudget, out: Out, member?: Member): Promise<ArtifactResult> {
    const res: ArtifactResult = {
      uri: ref.uri,
      parent,
      sha256: null,
      size: ref.size ?? 0,
      ...(member ? { member: member.path } : {}),
      ...(ref.mediaType ? { mediaType: ref.mediaType } : {}),
      ...(ref.modified ? { modified: ref.modified } : {}),
      ...(Object.keys(ref.annotations).length ? { annotations: { ...ref.annotations } } : {}),
      ...(ref.local ? { local: ref.local } : {}),
      findings: [],
      errors: [],
    };
    this.record(res, out);
    if (member?.problem) res.errors.push({ code: member.problem.code, message: member.problem.message, source: 'container' });
    if (ref.annotations['zip.encryption']) this.recordZipEncryption(res, ref.annotations['zip.encryption']);
    const ctx: DetectContext = { name: ref.name, uri: ref.uri, size: ref.size ?? 0, baseOffset: 0, whole: true };
    // A store that promised a digest: members are held back until the bytes are known to be the promised ones.
    const own: Out = ref.digest?.startsWith('sha256:') && !out.held ? { held: [] } : out;

    if (ref.bytes) {
      const whole = ref.bytes;
      res.sha256 = createHash('sha256').update(whole).digest('hex');
      res.size = whole.length;
      this.bytesRead += whole.length;
      const head = whole.subarray(0, HEAD);
      await this.detectWhole(whole, { ...ctx, size: whole.length }, res, this.willExpand(head, ref.name, depth), depth);
      this.keep(res, ref.name, whole);
      if (promised(ref, res)) await this.expand(ref, res, { bytes: whole }, head, depth, budget, own);
    } else if (ref.sample && ref.read && ref.size !== undefined && ref.size > ref.sample.head + ref.sample.tail) {
      // Remote sampled read (ArtifactRef.sample): head and tail windows only; a container is not opened from a sample.
      await this.readSample(ref, ref.size, ref.sample, ctx, res);
    } else {
      await this.readOnce(ref, ctx, res, depth, budget, own);
    }
    if (own !== out) this.release(ref, res, own, out);
    if (ref.related) await this.applyRelated(ref, res);
    this.finished(res, out);
    return res;
  }

  /** Keep a small evidence object's bytes for the coverage pass (a copy: the read buffer may be a pool's slice). */
  private keep(res: ArtifactResult, name: string, bytes: Uint8Array): void {
    if (bytes.length > EVIDENCE_FILE_LIMIT || this.evidenceBytes + bytes.length > EVIDENCE_TOTAL_LIMIT) return;
    const small = bytes.length <= 1024 * 1024 && res.findings.some((f) => f.kind === 'signature' || f.kind === 'public-key' || f.kind === 'certificate');
    if (!small && !isEvidenceName(name.slice(name.lastIndexOf('/') + 1))) return;
    this.keepBytes(res.uri, bytes);
  }

  /**
   * Keep bytes for the coverage pass under their URI (an artifact's, or an attached object's such as an OCI signature's
   * payload), within the scan's evidence budget.
   */
  private keepBytes(uri: string, bytes: Uint8Array): void {
    if (this.evidence.has(uri) || this.evidenceBytes + bytes.length > EVIDENCE_TOTAL_LIMIT) return;
    this.evidence.set(uri, new Uint8Array(bytes));
    this.evidenceBytes += bytes.length;
  }

  /** After the one pass: members held for a digest check are reported if it matched; if not, nothing the bytes said is. */
  private release(ref: ArtifactRef, res: ArtifactResult, own: Out, out: Out): void {
    const held = own.held ?? [];
    if (promised(ref, res)) {
      for (const r of held) {
        this.record(r, out);
        this.finished(r, out);
      }
      return;
    }
    res.findings = [];
    res.errors.push({
      code: 'malformed',
      message: `content digest sha256:${res.sha256} does not match the store's ${ref.digest}; nothing these bytes hold is reported${held.length ? ` (${held.length} members read from them dropped)` : ''}`,
      source: 'engine',
    });
  }

  /** Head and tail windows by range, nothing in between (see ArtifactRef.sample). */
  private async readSample(ref: ArtifactRef, size: number, sample: NonNullable<ArtifactRef['sample']>, ctx: DetectContext, res: ArtifactResult): Promise<void> {
    try {
      const head = await ref.read!(0, sample.head);
      const tail = await ref.read!(size - sample.tail, size);
      this.bytesRead += head.length + tail.length;
      const seen = new Set<string>();
      // A zero-width sample (release stores: identity from the index, nothing read) gives detectors nothing to claim.
      if (head.length) this.detect(head, { ...ctx, size, whole: false }, res, seen);
      if (tail.length) this.detect(tail, { ...ctx, size, baseOffset: size - sample.tail, whole: false }, res, seen);
      // A sampled artifact says so, and has no sha256 the engine did not compute: a store's claimed digest is kept as
      // such, except where a release index vouches for it as the artifact's identity (src/sources/_release.ts).
      res.annotations = { ...(res.annotations ?? {}), sampled: `${head.length + tail.length} of ${size} bytes read (head and tail)` };
      if (ref.digest?.startsWith('sha256:')) {
        if (sample.digestFrom === 'index') res.sha256 = ref.digest.slice(7);
        res.annotations[sample.digestFrom === 'index' ? 'sha256.from' : 'store.digest'] = sample.digestFrom === 'index' ? 'index' : ref.digest;
      }
    } catch (e) {
      res.errors.push(this.readError(e, ref.uri));
    }
  }

  /**
   * The one pass over a stream: hash everything; hold it whole when it is small (detect, then expand from memory);
   * otherwise detect window by window and, when the head says it is a container, feed the same chunks to the
   * container as they arrive, so that nothing is read again.
   */
  private async readOnce(ref: ArtifactRef, ctx: DetectContext, res: ArtifactResult, depth: number, budget: ExpansionBudget, out: Out): Promise<void> {
    const pass = new OnePass(ref.open(), this.options.wholeReadLimit ?? WHOLE_READ_LIMIT, (buf, baseOffset, expanding, seen) =>
      this.detect(buf, { ...ctx, baseOffset, whole: false }, res, seen, expanding),
    );
    const ended = await pass.fill(ref.size);
    const head = pass.head();
    const expanding = head.length > 0 && this.willExpand(head, ref.name, depth);
    if (ended) {
      const whole = pass.whole();
      this.finishPass(pass, ref, res, ctx);
      if (res.sha256 === null) return; // the read failed: recorded by finishPass
      await this.detectWhole(whole, { ...ctx, size: whole.length }, res, expanding, depth);
      this.keep(res, ref.name, whole);
      if (head.length && promised(ref, res)) await this.expand(ref, res, { bytes: whole }, head, depth, budget, out);
      return;
    }
    // The raw bytes of an archive being opened are read by the few formats that look there, and often by none.
    if (windowsClaimable(head, ctx, { ...this.options.detectors, container: expanding })) pass.startWindows(expanding);
    if (head.length) {
      const k = containerKind(head, ref.name);
      const random = k?.handler && (k.handler.kind === 'zip' || k.handler.kind === 'cab');
      if (!k) this.checkDeclaredCompression(ref, res, head);
      if (k && !random) await this.expand(ref, res, { stream: pass.stream() }, head, depth, budget, out);
      else if (k && random) {
        // Random access (a central directory at the end) cannot ride along one stream. Local files are read by range;
        // a store that promised a digest is not, since ranges are bytes the digest never covered.
        await pass.drain();
        this.finishPass(pass, ref, res, ctx);
        if (res.sha256 === null) return;
        if (ref.digest)
          res.errors.push({
            code: 'limit-size',
            message: `a ${k.handler!.kind} larger than ${this.options.wholeReadLimit ?? WHOLE_READ_LIMIT} bytes from a content-addressed store is not opened: reading it by range would scan bytes its digest does not cover`,
            source: 'container',
          });
        else if (ref.read) await this.expand(ref, res, { read: ref.read, size: res.size }, head, depth, budget, out);
        else
          res.errors.push({
            code: 'limit-size',
            message: `container member larger than ${MEMBER_BUFFER_LIMIT} bytes inside a stream; scanned as bytes but not opened`,
            source: 'container',
          });
        return;
      }
    }
    await pass.drain();
    this.finishPass(pass, ref, res, ctx);
  }

  private finishPass(pass: OnePass, ref: ArtifactRef, res: ArtifactResult, ctx: DetectContext): void {
    const r = pass.finish();
    this.bytesRead += r.total;
    res.size = r.error ? Math.max(res.size, r.total) : r.total;
    ctx.size = r.total;
    if (r.error) {
      res.errors.push(this.readError(r.error, ref.uri));
      return;
    }
    res.sha256 = r.sha256;
  }

  /** Signatures, attestations, tags and metadata the source found for this artifact (see ArtifactRef.related). */
  private async applyRelated(ref: ArtifactRef, res: ArtifactResult): Promise<void> {
    let info: RelatedInfo;
    try {
      info = await ref.related!();
    } catch (e) {
      res.errors.push({ ...this.readError(e, ref.uri), source: 'source' });
      return;
    }
    if (info.annotations && Object.keys(info.annotations).length) res.annotations = { ...(res.annotations ?? {}), ...info.annotations };
    if (info.signed !== undefined) res.signed = info.signed;
    for (const { uri, ...e } of info.errors ?? []) res.errors.push({ ...e, ...(uri && uri !== ref.uri ? { uri } : {}), source: 'source' });
    const checks: { att: ArtifactRef; first: number; count: number; planned: ReturnType<typeof planDetachedChecks> }[] = [];
    // Attached objects that hold signature material (signatures, or the certificates of an envelope not checked here).
    let signatureObjects = 0;
    for (const att of info.attached ?? []) {
      if (!att.bytes) continue;
      this.bytesRead += att.bytes.length;
      const sha = createHash('sha256').update(att.bytes).digest('hex');
      if (att.digest?.startsWith('sha256:') && att.digest !== `sha256:${sha}`) {
        res.errors.push({
          code: 'malformed',
          message: `content digest sha256:${sha} does not match the store's ${att.digest}`,
          uri: att.uri,
          source: 'engine',
        });
        continue;
      }
      const sub: ArtifactResult = { uri: att.uri, parent: ref.uri, sha256: sha, size: att.bytes.length, findings: [], errors: [] };
      this.detect(att.bytes, { name: att.name, uri: att.uri, size: att.bytes.length, baseOffset: 0, whole: true }, sub);
      if (sub.findings.some((f) => f.kind === 'signature' || f.kind === 'certificate')) signatureObjects++;
      if (sub.findings.some((f) => f.kind === 'signature'))
        checks.push({
          att,
          first: res.findings.length,
          count: sub.findings.length,
          planned: planDetachedChecks(att.bytes, att.uri, { keys: new KeyRing(), subject: att.signs?.name ?? ref.name }),
        });
      for (const f of sub.findings) res.findings.push({ ...f, location: { ...f.location, member: att.name } });
      // A cosign signature and the simple-signing payload it signs, kept for the verification that joins the
      // signature to a key elsewhere in the scan (src/scan/coverage.ts); both are a few hundred bytes.
      if (att.bytes.length <= ATTACHED_EVIDENCE_LIMIT && (sub.annotations?.['cosign.manifestDigest'] || sub.findings.some((f) => f.details?.payloadDigest)))
        this.keepBytes(att.uri, att.bytes);
      // Recorded on the subject, about the attached object.
      for (const e of sub.errors) res.errors.push({ ...e, uri: e.uri ?? att.uri });
      if (sub.annotations) res.annotations = { ...(res.annotations ?? {}), ...sub.annotations };
    }
    const failedFindings = new Set<Finding>();
    const failed = this.checkAttached(ref, res, checks, failedFindings);
    // A source's `signed: true` does not stand on signatures that all failed over these bytes.
    if (res.signed === true && signatureObjects > 0 && failed === signatureObjects) delete res.signed;
    // Release stores: coverage from the signatures found on the artifact and on the index that lists it.
    if (info.vouching) {
      // A signature that failed over what it signs vouches for nothing (docs/coverage.md).
      const own = res.findings.filter((f) => f.kind === 'signature' && !failedFindings.has(f));
      const v = vouch(info.vouching, own, (r) => this.detectShared(r), this.options.now ?? new Date());
      res.coverage = v.coverage;
      const first = res.findings.length;
      res.findings.push(...v.findings);
      res.errors.push(...v.errors);
      // The same links as any other coverage (docs/coverage.md): the index's signature is not checked over the index
      // here (the digests on the way down are compared by the source), so it is `unverifiable`, saying why.
      v.findings.forEach((f, k) =>
        (res.signedBy ??= []).push({
          uri: v.from[k].uri,
          finding: first + k,
          via: 'index',
          index: v.from[k].index,
          algorithm: f.algorithm.id,
          quantum: f.quantum.status,
          format: f.format,
          verification: 'unverifiable',
          reason: 'the signature over the index is not checked here; the digests from the index down are',
        }),
      );
    }
  }

  /**
   * Attached signatures (an OCI referrer, a release store's sibling file) checked over the artifact: with its SHA-256,
   * or any digest when its bytes are in memory (manifests), or over the part it signs (`ArtifactRef.signs`: a cabinet's
   * member). Each becomes a `signedBy` link (`via: attached`); one that fails is an error, and its finding goes into
   * `failedFindings`. Returns how many attached objects had only failing signatures.
   */
  private checkAttached(
    ref: ArtifactRef,
    res: ArtifactResult,
    checks: { att: ArtifactRef; first: number; count: number; planned: ReturnType<typeof planDetachedChecks> }[],
    failedFindings: Set<Finding>,
  ): number {
    let failedObjects = 0;
    for (const c of checks) {
      let survived = false;
      const sigs: number[] = [];
      for (let i = c.first; i < c.first + c.count; i++) if (res.findings[i].kind === 'signature') sigs.push(i);
      const outcomes: CheckOutcome[] = c.planned.length
        ? c.planned.map((p) => {
            if (!isPlanned(p)) return p;
            const { signs } = c.att;
            // A signature over a part of the artifact (a cabinet member) is checked over that part's bytes.
            const digests = p.requests.map((r) =>
              signs
                ? signs.bytes && digestOf(signs.bytes, r)
                : res.sha256 && answeredBySha256(r)
                  ? new Uint8Array(Buffer.from(res.sha256, 'hex'))
                  : ref.bytes && promised(ref, res)
                    ? digestOf(ref.bytes, r)
                    : undefined,
            );
            if (digests.some((d) => !d))
              return {
                verification: 'unverifiable',
                reason: signs ? (signs.reason ?? `${signs.name} it signs was not read`) : 'needs a digest of the artifact other than its SHA-256',
              } as CheckOutcome;
            return p.finish(digests as Uint8Array[]);
          })
        : sigs.map(() => ({ verification: 'unverifiable', reason: 'a signature format shelflife does not check' }) as CheckOutcome);
      outcomes.forEach((o, k) => {
        const finding = sigs[k] ?? sigs[0];
        if (finding === undefined) return;
        if (o.verification === 'failed') {
          failedFindings.add(res.findings[finding]);
          res.errors.push({
            code: 'malformed',
            message: `the attached signature does not verify over ${c.att.signs ? c.att.signs.name : 'this artifact'}: ${o.reason ?? 'no reason given'}`,
            uri: c.att.uri,
            source: 'coverage',
          });
          return;
        }
        survived = true;
        const f = res.findings[finding];
        (res.signedBy ??= []).push({
          uri: c.att.uri,
          finding,
          via: 'attached',
          algorithm: f.algorithm.id,
          quantum: f.quantum.status,
          format: f.format,
          verification: o.verification,
          ...(o.verification !== 'verified' && o.reason ? { reason: o.reason } : {}),
        });
        if (o.verification === 'verified' && (o.postQuantum || f.quantum.status === 'hybrid' || f.quantum.status === 'resistant'))
          res.migration = 'hybrid-signed';
      });
      if (!survived) failedObjects++;
    }
    return failedObjects;
  }

  /** Findings in an in-memory object shared by many artifacts, detected once per scan. */
  private detectShared(ref: ArtifactRef): Finding[] {
    let f = this.shared.get(ref);
    if (!f) {
      const sub: ArtifactResult = { uri: ref.uri, parent: null, sha256: null, size: 0, findings: [], errors: [] };
      if (ref.bytes) this.detect(ref.bytes, { name: ref.name, uri: ref.uri, size: ref.bytes.length, baseOffset: 0, whole: true }, sub);
      f = sub.findings;
      this.shared.set(ref, f);
    }
    return f;
  }

  /** Will the engine open this artifact as a container? Then only container-aware detectors read its raw bytes. */
  private willExpand(head: Uint8Array, name: string, depth: number): boolean {
    if (depth >= (this.options.maxDepth ?? MAX_CONTAINER_DEPTH)) return false;
    return containerKind(head, name) !== undefined;
  }

  /**
   * A whole artifact's detection: a top-level one in a detection thread when the pool takes it (the main thread reads
   * and records meanwhile), else inline. Members stay inline: their container's scan waits for each in turn anyway.
   */
  private async detectWhole(bytes: Uint8Array, ctx: DetectContext, res: ArtifactResult, container: boolean, depth: number): Promise<void> {
    const pool = this.options.pool;
    if (depth > 0 || !pool?.accepts(bytes.length)) return this.detect(bytes, ctx, res, undefined, container);
    let r: RunResult;
    try {
      r = await pool.detect(bytes, ctx, { ...this.options.detectors, container });
    } catch (e) {
      // Only a thread that stopped is an error on the artifact; a bug in the registry fails the scan, as inline.
      if (!(e instanceof ShelflifeError)) throw e;
      res.errors.push(toErrorEntry(e, { uri: ctx.uri, source: 'engine' }, { code: 'detector-crash', message: errorMessage(e) }));
      return;
    }
    this.apply(r, res);
  }

  private detect(bytes: Uint8Array, ctx: DetectContext, res: ArtifactResult, seen?: Set<string>, container = false): void {
    this.apply(runDetectors(bytes, ctx, { ...this.options.detectors, container }), res, seen);
  }

  /** What the registry found, added to the artifact (`seen`: across the windows of one artifact, each once). */
  private apply(r: RunResult, res: ArtifactResult, seen?: Set<string>): void {
    for (const f of r.findings) {
      const key = findingKey(f);
      if (seen) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      res.findings.push(f);
    }
    for (const e of r.errors) {
      if (seen) {
        const key = `err|${e.offset ?? ''}|${e.message}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      res.errors.push(e);
    }
    if (Object.keys(r.annotations).length) res.annotations = { ...(res.annotations ?? {}), ...r.annotations };
  }

  private readError(e: unknown, uri: string): ErrorEntry {
    const code = (e as NodeJS.ErrnoException)?.code;
    return toErrorEntry(e, { uri, source: 'engine' }, { code: 'io', message: `read failed: ${code ? `${code}: ` : ''}${errorMessage(e)}` });
  }

  /** Open the artifact as a container, if it is one, and scan its members. */
  private async expand(
    ref: ArtifactRef,
    res: ArtifactResult,
    from: { bytes?: Uint8Array; stream?: AsyncIterable<Uint8Array>; read?: ArtifactRef['read']; size?: number },
    head: Uint8Array,
    depth: number,
    budget: ExpansionBudget,
    out: Out,
  ): Promise<void> {
    const kind = containerKind(head, ref.name);
    this.checkDeclaredCompression(ref, res, head);
    if (!kind) return;
    const maxDepth = this.options.maxDepth ?? MAX_CONTAINER_DEPTH;
    if (depth >= maxDepth) {
      res.errors.push({ code: 'limit-depth', message: `container nested deeper than ${maxDepth}; not opened`, source: 'container' });
      return;
    }
    let used = false;
    const input: ContainerInput = {
      uri: ref.uri,
      name: ref.name,
      size: from.bytes?.length ?? from.size ?? ref.size,
      ...(from.bytes ? { bytes: from.bytes } : {}),
      ...(from.read ? { read: from.read } : {}),
      open: () => {
        if (from.bytes) return once(from.bytes);
        if (!from.stream || used) throw new ShelflifeError('unsupported', 'the one pass over these bytes was already taken', { uri: ref.uri });
        used = true;
        return from.stream;
      },
    };
    try {
      const opened = openContainer(input, head, budget)!;
      for await (const m of opened.members) await this.scanMember(ref, res, m, depth, budget, out);
    } catch (e) {
      const what = kind.compression ?? kind.handler?.kind;
      const entry = toErrorEntry(e, { uri: ref.uri, source: 'container' }, { code: 'malformed', message: `cannot open as ${what}: ${errorMessage(e)}` });
      res.errors.push(entry.uri ? entry : { ...entry, message: `${entry.message}${belongsTo(res)}` });
    }
  }

  /**
   * A blob whose media type declares a compression (an image layer's `…tar+gzip`) and whose bytes are not in it is
   * an error of that blob, not a file to read quietly as something else (issue 16 item 14). What its bytes are is
   * still read: a plain tar mislabelled as gzip is opened as the tar it is.
   */
  private checkDeclaredCompression(ref: ArtifactRef, res: ArtifactResult, head: Uint8Array): void {
    const declared = compressionOfMediaType(ref.mediaType);
    const actual = sniffCompression(head);
    if (!declared || actual === declared) return;
    const bytes = [...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    res.errors.push({
      code: 'malformed',
      message: `its media type ${ref.mediaType} says ${declared}, but its bytes are not ${declared} (${actual ? `they are ${actual}` : head.length ? `they start ${bytes}` : 'it is empty'})${belongsTo(res)}`,
      source: 'container',
    });
  }

  private async scanMember(container: ArtifactRef, containerRes: ArtifactResult, m: Member, depth: number, budget: ExpansionBudget, out: Out): Promise<void> {
    const uri = `${container.uri}!/${memberUriPath(m.path)}`;
    if (m.problem?.code === 'path-traversal') containerRes.errors.push({ code: 'path-traversal', message: m.problem.message, uri, source: 'container' });
    if (!m.bytes && !m.stream) {
      // Nothing readable (encrypted, unsupported method): record the member with its problem, no bytes.
      const res: ArtifactResult = { uri, parent: container.uri, sha256: null, size: m.size ?? 0, member: m.path, findings: [], errors: [] };
      if (m.annotations) res.annotations = { ...m.annotations };
      if (m.problem) res.errors.push({ code: m.problem.code, message: m.problem.message, source: 'container' });
      if (m.annotations?.['zip.encryption']) this.recordZipEncryption(res, m.annotations['zip.encryption']);
      this.record(res, out);
      this.finished(res, out);
      return;
    }
    const stream = m.stream;
    const child: ArtifactRef = {
      uri,
      name: m.path,
      size: m.size,
      modified: m.modified,
      annotations: m.annotations ?? {},
      bytes: m.bytes,
      reopenable: !!m.bytes,
      open: () => (m.bytes ? once(m.bytes) : stream!),
    };
    await this.scanRef(child, container.uri, depth + 1, budget, out, m.problem?.code === 'path-traversal' ? { ...m, problem: undefined } : m);
  }

  private recordZipEncryption(res: ArtifactResult, scheme: string): void {
    const cat = catalogue();
    const d =
      scheme.startsWith('AES-') && cat.data.algorithms[scheme]
        ? cat.byId(scheme, { mode: 'WinZip-AE' })
        : cat.byId('Password', { name: 'ZipCrypto (PKWARE traditional)' });
    res.findings.push({
      kind: 'encrypted-data',
      format: 'zip',
      algorithm: d.algorithm,
      quantum: d.quantum,
      location: { path: 'zip entry' },
      details: { scheme },
    });
  }
}

/**
 * Where an artifact belongs when its URI does not say it: an image's layer (`oci://r/app@sha256:<layer>`) is named
 * by its digest alone, so a message about it names the image too. Members carry their container in their URI.
 */
function belongsTo(res: ArtifactResult): string {
  return res.parent && !res.uri.startsWith(`${res.parent}!/`) ? ` (a layer or blob of ${res.parent})` : '';
}

/** Are these the bytes the store promised (or did it promise none)? */
function promised(ref: ArtifactRef, res: ArtifactResult): boolean {
  return !ref.digest?.startsWith('sha256:') || res.sha256 === null || ref.digest === `sha256:${res.sha256}`;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * One pass over an artifact's chunks: every chunk pulled is hashed and counted; until the whole-read limit it is
 * held; past it (or once `startWindows` is called) it goes through overlapping detection windows instead, and can be
 * handed on, in order, to a container reading the same stream. A read error ends the stream and is kept for `finish`.
 */
class OnePass {
  private readonly it: AsyncIterator<Uint8Array>;
  private readonly hash: Hash = createHash('sha256');
  private total = 0;
  private ended = false;
  private error: unknown;
  /** Held chunks (before windows start), not yet handed to a container stream either. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private headBytes: Uint8Array = new Uint8Array(0);
  /** Windowed detection state. */
  private windows = false;
  private expanding = false;
  private win: Uint8Array[] = [];
  private winBytes = 0;
  private winStart = 0;
  private readonly seen = new Set<string>();

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly limit: number,
    private readonly detectWindow: (buf: Uint8Array, baseOffset: number, expanding: boolean, seen: Set<string>) => void,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /**
   * Pull until the stream ends (true: everything is held) or more than the whole-read limit is held (false). When
   * the store says the object is larger than that limit, only the head is pulled first: holding tens of megabytes
   * (an image layer) only to learn that it is large is what the size already said.
   */
  async fill(size?: number): Promise<boolean> {
    const enough = size !== undefined && size > this.limit ? HEAD : this.limit;
    while (this.heldBytes <= enough) {
      const c = await this.pull();
      if (!c) return true;
      this.held.push(c);
      this.heldBytes += c.length;
    }
    return false;
  }

  head(): Uint8Array {
    return this.headBytes;
  }

  whole(): Uint8Array {
    return this.held.length === 1 ? this.held[0] : new Uint8Array(Buffer.concat(this.held));
  }

  /** From here on chunks go through windows; what is held so far is the first of them. */
  startWindows(expanding: boolean): void {
    this.windows = true;
    this.expanding = expanding;
    for (const c of this.held) this.window(c);
  }

  /** The held chunks, then the rest of the stream as it is pulled: for a container reading along. */
  async *stream(): AsyncIterable<Uint8Array> {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const c of held) yield c;
    for (;;) {
      const c = await this.pull();
      if (!c) return;
      yield c;
    }
  }

  /** Pull whatever the container left unread (trailing bytes, or everything when nothing read along). */
  async drain(): Promise<void> {
    this.held = [];
    this.heldBytes = 0;
    while (await this.pull());
  }

  finish(): { sha256: string; total: number; error?: unknown } {
    if (this.windows) this.flushWindows(true);
    return { sha256: this.hash.digest('hex'), total: this.total, ...(this.error !== undefined ? { error: this.error } : {}) };
  }

  private async pull(): Promise<Uint8Array | undefined> {
    if (this.ended) return undefined;
    let r: IteratorResult<Uint8Array>;
    try {
      r = await this.it.next();
    } catch (e) {
      this.error = e;
      this.ended = true;
      return undefined;
    }
    if (r.done) {
      this.ended = true;
      return undefined;
    }
    const c = r.value;
    this.hash.update(c);
    this.total += c.length;
    if (this.headBytes.length < HEAD) this.headBytes = new Uint8Array(Buffer.concat([this.headBytes, c.subarray(0, HEAD - this.headBytes.length)]));
    if (this.windows) this.window(c);
    return c;
  }

  private window(c: Uint8Array): void {
    this.win.push(c);
    this.winBytes += c.length;
    this.flushWindows(false);
  }

  private flushWindows(final: boolean): void {
    const span = WINDOW_SIZE + WINDOW_OVERLAP;
    while (this.winBytes >= span || (final && this.winBytes > 0)) {
      // Buffer.concat already copies into one buffer (a Uint8Array): wrapping it again would copy twice.
      const buf: Uint8Array = this.win.length === 1 ? this.win[0] : Buffer.concat(this.win);
      const take = Math.min(span, buf.length);
      // The last window is skipped when the previous one already covered it entirely.
      if (!(final && this.winStart > 0 && buf.length <= WINDOW_OVERLAP)) this.detectWindow(buf.subarray(0, take), this.winStart, this.expanding, this.seen);
      if (final && buf.length <= span) {
        this.win = [];
        this.winBytes = 0;
        break;
      }
      const rest = buf.subarray(WINDOW_SIZE);
      this.win = [Buffer.from(rest)]; // copy the overlap only, so the big window can be collected
      this.winBytes = rest.length;
      this.winStart += WINDOW_SIZE;
    }
  }
}
