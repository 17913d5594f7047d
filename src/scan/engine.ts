/**
 * Scans one artifact: streams its bytes once (sha256 + detectors), holding the whole artifact only when it is small
 * and otherwise walking it in overlapping windows, so memory stays flat for files of any size; then opens it as a
 * container when it is one and scans each member as a child artifact, under shared depth/entry/byte/ratio limits.
 * @module
 */
import { createHash } from 'node:crypto';
import { ChunkReader, concat } from '../containers/_reader.js';
import { decompress, decompressedName, sniffCompression } from '../containers/compression.js';
import { ExpansionBudget, sniffContainer, type ContainerInput, type Member } from '../containers/index.js';
import { safeMemberPath } from '../containers/types.js';
import { catalogue } from '../catalogue/index.js';
import { runDetectors } from '../detectors/index.js';
import { findingKey } from '../identity.js';
import { ShelflifeError, errorMessage, toErrorEntry } from '../errors.js';
import { MAX_CONTAINER_DEPTH, MEMBER_BUFFER_LIMIT, WHOLE_READ_LIMIT, WINDOW_OVERLAP, WINDOW_SIZE } from '../limits.js';
import type { ArtifactResult, DetectContext, ErrorEntry, Finding } from '../model.js';
import type { ArtifactRef, RelatedInfo } from '../sources/types.js';
import { vouch } from './vouching.js';

export interface EngineOptions {
  detectors?: { only?: Set<string>; skip?: Set<string> };
  /** Called once per finished artifact (progress display, streaming sinks). */
  onArtifact?: (a: ArtifactResult) => void;
  /** Overrides for tests and benchmarks. */
  wholeReadLimit?: number;
  maxDepth?: number;
  /** The scan's clock (signing-key expiry in release stores). */
  now?: Date;
}

const HEAD = 4096;

export class ScanEngine {
  readonly results: ArtifactResult[] = [];
  bytesRead = 0;
  /** Findings in objects several artifacts share (a release index's signatures), detected once. */
  private readonly shared = new WeakMap<ArtifactRef, Finding[]>();

  constructor(private readonly options: EngineOptions = {}) {}

  /** Scan a top-level artifact (and, recursively, its members). Never throws for bad input. */
  async scan(ref: ArtifactRef): Promise<void> {
    await this.scanRef(ref, ref.parent ?? null, 0, new ExpansionBudget());
  }

  private async scanRef(ref: ArtifactRef, parent: string | null, depth: number, budget: ExpansionBudget, problem?: Member['problem']): Promise<ArtifactResult> {
    const res: ArtifactResult = {
      uri: ref.uri,
      parent,
      sha256: null,
      size: ref.size ?? 0,
      ...(ref.mediaType ? { mediaType: ref.mediaType } : {}),
      ...(ref.modified ? { modified: ref.modified } : {}),
      ...(Object.keys(ref.annotations).length ? { annotations: { ...ref.annotations } } : {}),
      findings: [],
      errors: [],
    };
    this.results.push(res);
    if (problem) res.errors.push({ code: problem.code, message: problem.message, source: 'container' });
    if (ref.annotations['zip.encryption']) this.recordZipEncryption(res, ref.annotations['zip.encryption']);

    const ctx: DetectContext = { name: ref.name, uri: ref.uri, size: ref.size ?? 0, baseOffset: 0, whole: true };
    let whole: Uint8Array | undefined = ref.bytes;
    let head: Uint8Array | undefined = ref.bytes?.subarray(0, HEAD);
    if (whole) {
      res.sha256 = createHash('sha256').update(whole).digest('hex');
      res.size = whole.length;
      this.bytesRead += whole.length;
      this.detect(whole, { ...ctx, size: whole.length }, res, undefined, this.willExpand(ref, whole.subarray(0, HEAD), depth, true));
    } else if (ref.sample && ref.read && ref.size !== undefined && ref.size > ref.sample.head + ref.sample.tail) {
      // Remote sampled read (ArtifactRef.sample): head and tail windows only.
      head = await this.readSample(ref, ref.size, ref.sample, ctx, res);
    } else {
      const read = await this.readStream(ref, ctx, res, depth);
      whole = read.whole;
      head = read.head;
    }
    // A store that told us the digest gets it checked.
    if (ref.digest?.startsWith('sha256:') && res.sha256 && ref.digest !== `sha256:${res.sha256}`) {
      res.errors.push({
        code: 'malformed',
        message: `content digest sha256:${res.sha256} does not match the store's ${ref.digest}`,
        source: 'engine',
      });
    }
    if (head && head.length > 0) await this.expand(ref, res, whole, head, depth, budget);
    if (ref.related) await this.applyRelated(ref, res);
    this.options.onArtifact?.(res);
    return res;
  }

  /** Head and tail windows by range, nothing in between (see ArtifactRef.sample). */
  private async readSample(
    ref: ArtifactRef,
    size: number,
    sample: { head: number; tail: number },
    ctx: DetectContext,
    res: ArtifactResult,
  ): Promise<Uint8Array | undefined> {
    try {
      const head = await ref.read!(0, sample.head);
      const tail = await ref.read!(size - sample.tail, size);
      this.bytesRead += head.length + tail.length;
      const seen = new Set<string>();
      // A zero-width sample (release stores: identity from the index, nothing read) gives detectors nothing to claim.
      if (head.length) this.detect(head, { ...ctx, size, whole: false }, res, seen);
      if (tail.length) this.detect(tail, { ...ctx, size, baseOffset: size - sample.tail, whole: false }, res, seen);
      // A content-addressed store's digest stands in for the hash we did not compute.
      if (ref.digest?.startsWith('sha256:')) res.sha256 = ref.digest.slice(7);
      return head.subarray(0, HEAD);
    } catch (e) {
      res.errors.push(this.readError(e, ref.uri));
      return undefined;
    }
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
      for (const f of sub.findings) res.findings.push({ ...f, location: { ...f.location, member: att.name } });
      // Recorded on the subject, about the attached object.
      for (const e of sub.errors) res.errors.push({ ...e, uri: e.uri ?? att.uri });
      if (sub.annotations) res.annotations = { ...(res.annotations ?? {}), ...sub.annotations };
    }
    // Release stores: coverage from the signatures found on the artifact and on the index that lists it.
    if (info.vouching) {
      const own = res.findings.filter((f) => f.kind === 'signature');
      const v = vouch(info.vouching, own, (r) => this.detectShared(r), this.options.now ?? new Date());
      res.coverage = v.coverage;
      res.findings.push(...v.findings);
      res.errors.push(...v.errors);
    }
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
  private willExpand(ref: ArtifactRef, head: Uint8Array, depth: number, whole: boolean): boolean {
    if (depth >= (this.options.maxDepth ?? MAX_CONTAINER_DEPTH)) return false;
    if (!whole && !ref.reopenable) return false;
    return !!(sniffCompression(head) || sniffContainer(head, ref.name));
  }

  private detect(bytes: Uint8Array, ctx: DetectContext, res: ArtifactResult, seen?: Set<string>, container = false): void {
    const r = runDetectors(bytes, ctx, { ...this.options.detectors, container });
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

  /** One pass over the stream: hash everything, keep it whole if small, else detect window by window. */
  private async readStream(ref: ArtifactRef, ctx: DetectContext, res: ArtifactResult, depth: number): Promise<{ whole?: Uint8Array; head?: Uint8Array }> {
    const limit = this.options.wholeReadLimit ?? WHOLE_READ_LIMIT;
    const hash = createHash('sha256');
    let chunks: Uint8Array[] = [];
    let held = 0;
    let total = 0;
    let windowed = false;
    let head: Uint8Array | undefined;
    let winStart = 0;
    const seen = new Set<string>();
    const span = WINDOW_SIZE + WINDOW_OVERLAP;
    const flushWindows = (final: boolean) => {
      while (held >= span || (final && held > 0)) {
        // Buffer.concat already copies into one buffer (a Uint8Array): wrapping it again would copy twice.
        const buf: Uint8Array = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        const take = Math.min(span, buf.length);
        // The last window is skipped when the previous one already covered it entirely.
        if (!(final && winStart > 0 && buf.length <= WINDOW_OVERLAP)) {
          this.detect(buf.subarray(0, take), { ...ctx, baseOffset: winStart, whole: false }, res, seen, this.willExpand(ref, head ?? buf, depth, false));
        }
        if (final && buf.length <= span) {
          chunks = [];
          held = 0;
          break;
        }
        const rest = buf.subarray(WINDOW_SIZE);
        chunks = [Buffer.from(rest)]; // copy the overlap only, so the big window can be collected
        held = rest.length;
        winStart += WINDOW_SIZE;
      }
    };
    try {
      for await (const chunk of ref.open()) {
        hash.update(chunk);
        total += chunk.length;
        if (!head) head = chunk.subarray(0, HEAD);
        else if (head.length < HEAD) head = concat(head, chunk.subarray(0, HEAD - head.length));
        chunks.push(chunk);
        held += chunk.length;
        if (!windowed && held > limit) windowed = true;
        if (windowed) flushWindows(false);
      }
    } catch (e) {
      res.errors.push(this.readError(e, ref.uri));
      res.size = Math.max(res.size, total);
      this.bytesRead += total;
      if (windowed) flushWindows(true);
      return { head };
    }
    this.bytesRead += total;
    res.size = total;
    res.sha256 = hash.digest('hex');
    ctx.size = total;
    if (windowed) {
      flushWindows(true);
      return { head };
    }
    const whole: Uint8Array = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    this.detect(whole, ctx, res, undefined, this.willExpand(ref, whole.subarray(0, HEAD), depth, true));
    return { whole, head: whole.subarray(0, HEAD) };
  }

  private readError(e: unknown, uri: string): ErrorEntry {
    const code = (e as NodeJS.ErrnoException)?.code;
    return toErrorEntry(e, { uri, source: 'engine' }, { code: 'io', message: `read failed: ${code ? `${code}: ` : ''}${errorMessage(e)}` });
  }

  /** Open the artifact as a container, if it is one, and scan its members. */
  private async expand(
    ref: ArtifactRef,
    res: ArtifactResult,
    whole: Uint8Array | undefined,
    head: Uint8Array,
    depth: number,
    budget: ExpansionBudget,
  ): Promise<void> {
    const compression = sniffCompression(head);
    const handler = compression ? undefined : sniffContainer(head, ref.name);
    if (!compression && !handler) return;
    const maxDepth = this.options.maxDepth ?? MAX_CONTAINER_DEPTH;
    if (depth >= maxDepth) {
      res.errors.push({ code: 'limit-depth', message: `container nested deeper than ${maxDepth}; not opened`, source: 'container' });
      return;
    }
    const rawOpen = whole
      ? async function* () {
          yield whole;
        }
      : ref.reopenable
        ? () => ref.open()
        : undefined;
    if (!rawOpen) {
      res.errors.push({
        code: 'limit-size',
        message: `container member larger than ${MEMBER_BUFFER_LIMIT} bytes inside a stream; scanned as bytes but not opened`,
        source: 'container',
      });
      return;
    }
    try {
      let input: ContainerInput;
      let h = handler;
      if (compression) {
        const stream = decompress(compression, rawOpen(), budget, ref.uri);
        const peek = await peekStream(stream, 512);
        const innerName = decompressedName(ref.name);
        h = sniffContainer(peek.head, innerName);
        if (!h || h.kind === 'zip') {
          // Not an archive (or a zip, which needs random access): the decompressed bytes are one member.
          const bytes = await collectOrStream(peek.stream, MEMBER_BUFFER_LIMIT);
          await this.scanMember(ref, { path: innerName, ...(bytes instanceof Uint8Array ? { bytes, size: bytes.length } : { stream: bytes }) }, depth, budget);
          return;
        }
        let used = false;
        input = {
          uri: ref.uri,
          name: innerName,
          open: () => {
            if (used) throw new ShelflifeError('unsupported', 'decompressed stream read twice', { uri: ref.uri });
            used = true;
            return peek.stream;
          },
        };
      } else {
        input = { uri: ref.uri, name: ref.name, size: whole?.length ?? ref.size, bytes: whole, open: rawOpen, read: whole ? undefined : ref.read };
      }
      for await (const member of h!.members(input, budget)) {
        await this.scanMember(ref, member, depth, budget);
      }
    } catch (e) {
      res.errors.push(
        toErrorEntry(
          e,
          { uri: ref.uri, source: 'container' },
          { code: 'malformed', message: `cannot open as ${compression ?? handler?.kind}: ${errorMessage(e)}` },
        ),
      );
    }
  }

  private async scanMember(container: ArtifactRef, m: Member, depth: number, budget: ExpansionBudget): Promise<void> {
    const uri = `${container.uri}!/${safeMemberPath(m.path)}`;
    if (m.problem?.code === 'path-traversal') {
      this.results.find((r) => r.uri === container.uri)?.errors.push({ code: 'path-traversal', message: m.problem.message, uri, source: 'container' });
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
      open: m.bytes
        ? async function* () {
            yield m.bytes!;
          }
        : () => stream ?? (async function* () {})(),
    };
    if (!m.bytes && !stream) {
      // Nothing readable (encrypted, unsupported method): record the member with its problem, no bytes.
      const res: ArtifactResult = { uri, parent: container.uri, sha256: null, size: m.size ?? 0, findings: [], errors: [] };
      if (m.annotations) res.annotations = { ...m.annotations };
      if (m.problem) res.errors.push({ code: m.problem.code, message: m.problem.message, source: 'container' });
      if (m.annotations?.['zip.encryption']) this.recordZipEncryption(res, m.annotations['zip.encryption']);
      this.results.push(res);
      this.options.onArtifact?.(res);
      return;
    }
    await this.scanRef(child, container.uri, depth + 1, budget, m.problem?.code === 'path-traversal' ? undefined : m.problem);
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

async function peekStream(stream: AsyncIterable<Uint8Array>, n: number): Promise<{ head: Uint8Array; stream: AsyncIterable<Uint8Array> }> {
  const r = new ChunkReader(stream);
  const head = await r.read(n);
  const rest = (async function* () {
    if (head.length) yield head;
    for await (const c of r.take(Number.MAX_SAFE_INTEGER)) yield c;
  })();
  return { head, stream: rest };
}

/** Hold the stream in memory when it fits, else hand it on as a stream. */
async function collectOrStream(stream: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array | AsyncIterable<Uint8Array>> {
  const it = stream[Symbol.asyncIterator]();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) return new Uint8Array(Buffer.concat(parts));
    parts.push(r.value);
    n += r.value.length;
    if (n > limit) {
      return (async function* () {
        for (const p of parts) yield p;
        for (;;) {
          const x = await it.next();
          if (x.done) return;
          yield x.value;
        }
      })();
    }
  }
}
