/**
 * The one detector table, and the registry that runs it. A detector never throws past the registry: a ParseError
 * (or anything else) becomes an ErrorEntry naming the format and the offset, and the scan goes on.
 * Adding a format = one file named by its format id + one row below.
 * @module
 */
import { errorMessage, toErrorEntry } from '../errors.js';
import { compileGlobs, type GlobMatcher } from '../glob.js';
import { findingKey } from '../identity.js';
import { NeedleSet } from './needles.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { ageDetector } from './age.js';
import { apkDetector } from './apk.js';
import { authenticodeDetector } from './authenticode.js';
import { avbDetector } from './avb.js';
import { carveDetector } from './carve.js';
import { cmsDetector } from './cms.js';
import { coseDetector } from './cose.js';
import { cosignDetector } from './cosign.js';
import { csrDetector } from './csr.js';
import { debianDetector } from './debian.js';
import { dsseDetector } from './dsse.js';
import { fitDetector } from './fit.js';
import { intotoLayoutDetector } from './intoto-layout.js';
import { jarDetector } from './jar.js';
import { joseDetector } from './jose.js';
import { keysDetector } from './keys.js';
import { kmodDetector } from './kmod.js';
import { minisignDetector } from './minisign.js';
import { npmDetector } from './npm.js';
import { openpgpDetector } from './openpgp.js';
import { opensslEncDetector } from './openssl-enc.js';
import { pkcs12Detector } from './pkcs12.js';
import { rekorDetector } from './rekor.js';
import { rpmDetector } from './rpm.js';
import { sigstoreDetector } from './sigstore.js';
import { signifyDetector } from './signify.js';
import { sshDetector } from './ssh.js';
import { tufDetector } from './tuf.js';
import type { Detector, DetectResult } from './types.js';
import { uefiCapsuleDetector } from './uefi-capsule.js';
import { uefiEslDetector } from './uefi-esl.js';
import { x509Detector } from './x509.js';

export type { Detector, DetectResult } from './types.js';

/**
 * Order matters only for de-duplication: when two detectors report the same object at the same offset (a
 * certificate inside a CMS blob, also found by the x509 carver), the row listed first wins. Specific formats first.
 */
export const DETECTORS: readonly Detector[] = [
  authenticodeDetector,
  kmodDetector,
  uefiEslDetector,
  uefiCapsuleDetector,
  fitDetector,
  avbDetector,
  apkDetector,
  rpmDetector,
  // debian re-emits the OpenPGP findings of Debian files with their Debian context, so it must precede openpgp.
  debianDetector,
  sigstoreDetector,
  tufDetector,
  intotoLayoutDetector,
  rekorDetector,
  dsseDetector,
  cosignDetector,
  npmDetector,
  minisignDetector,
  signifyDetector,
  ageDetector,
  opensslEncDetector,
  jarDetector,
  cmsDetector,
  coseDetector,
  pkcs12Detector,
  csrDetector,
  keysDetector,
  openpgpDetector,
  sshDetector,
  joseDetector,
  x509Detector,
  // Last: raw keys at any offset, after every structured format has claimed what it understands.
  carveDetector,
];

export interface RunResult {
  findings: Finding[];
  errors: ErrorEntry[];
  annotations: Record<string, string>;
}

interface CompiledDetector {
  detector: Detector;
  names?: NameMatcher;
  /** Indexes of the detector's `contains` needles in the table's NeedleSet. */
  contains: number[];
}

interface CompiledTable {
  detectors: CompiledDetector[];
  needles: NeedleSet;
}

/**
 * A detector's name globs, matched as picomatch matches them with `basename: true` (picomatch 4 `test`/`matchBase`)
 * but by src/glob.ts (compiled once, a literal prefilter, linear in the name): a name equal to a glob, globs without a
 * slash against the last path segment (the one before a trailing slash), the others against the whole name,
 * case-insensitively. The segment is cut once per artifact (NameProbe), not once per glob.
 */
interface NameMatcher {
  globs: ReadonlySet<string>;
  base?: GlobMatcher;
  path?: GlobMatcher;
}

function compileNames(detector: Detector): NameMatcher | undefined {
  const globs = detector.claims.names ?? [];
  if (!globs.length) return undefined;
  const what = `detector ${detector.format}: claims.names`;
  const base = globs.filter((g) => !g.includes('/'));
  const path = globs.filter((g) => g.includes('/'));
  return {
    globs: new Set(globs),
    ...(base.length ? { base: compileGlobs(base, what, { nocase: true }) } : {}),
    ...(path.length ? { path: compileGlobs(path, what, { nocase: true }) } : {}),
  };
}

/** An artifact's name and its last segment, cut once for every detector's globs. */
class NameProbe {
  private baseName?: string;
  constructor(readonly name: string) {}
  base(): string {
    if (this.baseName === undefined) {
      const segs = this.name.split('/');
      const last = segs[segs.length - 1];
      this.baseName = last === '' ? (segs[segs.length - 2] ?? '') : last;
    }
    return this.baseName;
  }
  matches(m: NameMatcher): boolean {
    if (this.name === '') return false;
    if (m.globs.has(this.name)) return true;
    return (m.base !== undefined && m.base(this.base())) || (m.path !== undefined && m.path(this.name));
  }
}

const compiled = new WeakMap<readonly Detector[], CompiledTable>();

function compile(detectors: readonly Detector[]): CompiledTable {
  let c = compiled.get(detectors);
  if (!c) {
    const needles: string[] = [];
    const needleIndex = (s: string) => {
      const i = needles.indexOf(s);
      return i >= 0 ? i : needles.push(s) - 1;
    };
    const table = detectors.map((detector) => ({
      detector,
      names: compileNames(detector),
      contains: (detector.claims.contains ?? []).map(needleIndex),
    }));
    c = { detectors: table, needles: new NeedleSet(needles.map((n) => Buffer.from(n, 'latin1'))) };
    compiled.set(detectors, c);
  }
  return c;
}

/** Does this detector claim these bytes? (Exported for the claims tests.) */
export function claims(
  detector: Detector,
  bytes: Uint8Array,
  ctx: Pick<DetectContext, 'name' | 'baseOffset'>,
  table: readonly Detector[] = DETECTORS,
): boolean {
  let t = compile(table);
  let c = t.detectors.find((x) => x.detector === detector);
  if (!c) {
    t = compile([detector]);
    c = t.detectors[0];
  }
  return claimed(c, bytes, ctx, new WindowProbe(bytes, t.needles), new NameProbe(ctx.name));
}

/**
 * Answers "does this window contain needle X?" for every detector's `contains` claims at once: all needles are
 * looked for in one pass per anchor byte (NeedleSet), the first time any detector asks, and not at all when every
 * detector is decided by its magic or name first.
 */
class WindowProbe {
  private found?: boolean[];
  constructor(
    private readonly bytes: Uint8Array,
    private readonly needles: NeedleSet,
  ) {}
  has(needle: number): boolean {
    this.found ??= this.needles.find(this.bytes);
    return this.found[needle];
  }
}

/** Claimed by its structure: a magic (of at least `minMagic` bytes) at the start, or a name the detector's format uses. */
function claimedByStructure(c: CompiledDetector, bytes: Uint8Array, ctx: Pick<DetectContext, 'baseOffset'>, name: NameProbe, minMagic = 1): boolean {
  const { magic } = c.detector.claims;
  if (ctx.baseOffset === 0 && magic) {
    for (const m of magic)
      if (m.bytes.length >= minMagic && m.offset + m.bytes.length <= bytes.length && m.bytes.every((b, i) => bytes[m.offset + i] === b)) return true;
  }
  return c.names !== undefined && name.matches(c.names);
}

/**
 * A container member that a format in `defersTo` claims by name or by a magic of 4 bytes or more (one or two bytes
 * match arbitrary data too often to decide anything by).
 */
function deferredMember(
  defersTo: readonly string[],
  all: readonly CompiledDetector[],
  bytes: Uint8Array,
  ctx: Pick<DetectContext, 'baseOffset' | 'uri'>,
  name: NameProbe,
): boolean {
  if (!ctx.uri.includes('!/')) return false;
  return all.some((o) => defersTo.includes(o.detector.format) && claimedByStructure(o, bytes, ctx, name, 4));
}

function claimed(c: CompiledDetector, bytes: Uint8Array, ctx: Pick<DetectContext, 'baseOffset'>, probe: WindowProbe, name: NameProbe): boolean {
  const { claims: cl } = c.detector;
  if (cl.anywhere) return true;
  if (claimedByStructure(c, bytes, ctx, name)) return true;
  return c.contains.some((needle) => probe.has(needle));
}

/**
 * Could any detector claim a window of this artifact? False only when every detector `runDetectors` would consider
 * claims by magic or name alone, its name is none of theirs, and no magic of theirs is at the start of `head` (the
 * artifact's first bytes, as long as any magic): then every window would come back empty, and the engine need not
 * assemble them. Used for the raw bytes of an archive being opened (`container`), where only a few formats look.
 */
export function windowsClaimable(
  head: Uint8Array,
  ctx: Pick<DetectContext, 'name'>,
  options: RunOptions = {},
  table: readonly Detector[] = DETECTORS,
): boolean {
  const name = new NameProbe(ctx.name);
  for (const c of compile(table).detectors) {
    const { detector } = c;
    if (!considered(detector, options)) continue;
    const cl = detector.claims;
    if (cl.anywhere || cl.contains?.length) return true;
    if (claimedByStructure(c, head, { baseOffset: 0 }, name)) return true;
    // A magic that reaches past the head cannot be ruled out from it.
    if (cl.magic?.some((m) => m.offset + m.bytes.length > head.length)) return true;
  }
  return false;
}

function considered(detector: Detector, options: RunOptions): boolean {
  if (options.only && !options.only.has(detector.format)) return false;
  if (options.skip?.has(detector.format)) return false;
  return !(options.container && !detector.claims.containers);
}

/** Run every claiming detector over `bytes`; offsets in the result are absolute (ctx.baseOffset added). */
export interface RunOptions {
  only?: Set<string>;
  skip?: Set<string>;
  /** The bytes are an archive the engine will open: only detectors with `claims.containers` run. */
  container?: boolean;
}

export function runDetectors(bytes: Uint8Array, ctx: DetectContext, options: RunOptions = {}, table: readonly Detector[] = DETECTORS): RunResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const annotations: Record<string, string> = {};
  const seen = new Set<string>();
  const t = compile(table);
  const all = t.detectors;
  const probe = new WindowProbe(bytes, t.needles);
  const name = new NameProbe(ctx.name);
  for (const c of all) {
    const { detector } = c;
    if (!considered(detector, options)) continue;
    if (!claimed(c, bytes, ctx, probe, name)) continue;
    if (detector.claims.defersTo && deferredMember(detector.claims.defersTo, all, bytes, ctx, name)) continue;
    let out: Finding[] | DetectResult;
    try {
      out = detector.detect(bytes, ctx);
    } catch (e) {
      // Anything but a ShelflifeError is a bug in the detector, still contained: the scan goes on and the entry says so.
      errors.push(
        toErrorEntry(
          e,
          { uri: ctx.uri, source: detector.format, baseOffset: ctx.baseOffset },
          { code: 'detector-crash', message: `internal error: ${errorMessage(e)}` },
        ),
      );
      continue;
    }
    const result: DetectResult = Array.isArray(out) ? { findings: out } : out;
    for (const f of result.findings) {
      if (f.location.offset !== undefined) f.location.offset += ctx.baseOffset;
      const key = findingKey(f);
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push(f);
    }
    for (const e of result.errors ?? []) {
      errors.push({ ...e, source: e.source ?? detector.format, ...(e.offset !== undefined ? { offset: e.offset + ctx.baseOffset } : {}) });
    }
    Object.assign(annotations, result.annotations ?? {});
  }
  return { findings, errors, annotations };
}
