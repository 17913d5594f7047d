/**
 * The one detector table, and the registry that runs it. A detector never throws past the registry: a ParseError
 * (or anything else) becomes an ErrorEntry naming the format and the offset, and the scan goes on.
 * Adding a format = one file named by its format id + one row below.
 * @module
 */
import picomatch from 'picomatch';
import { errorMessage, toErrorEntry } from '../errors.js';
import { findingKey } from '../identity.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { ageDetector } from './age.js';
import { apkDetector } from './apk.js';
import { authenticodeDetector } from './authenticode.js';
import { avbDetector } from './avb.js';
import { carveDetector } from './carve.js';
import { cmsDetector } from './cms.js';
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
  nameMatchers: ((name: string) => boolean)[];
  contains: Buffer[];
}

const compiled = new WeakMap<readonly Detector[], CompiledDetector[]>();

function compile(detectors: readonly Detector[]): CompiledDetector[] {
  let c = compiled.get(detectors);
  if (!c) {
    c = detectors.map((detector) => ({
      detector,
      nameMatchers: (detector.claims.names ?? []).map((g) => picomatch(g, { nocase: true, dot: true, basename: !g.includes('/') })),
      contains: (detector.claims.contains ?? []).map((s) => Buffer.from(s, 'latin1')),
    }));
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
  const c = compile(table).find((x) => x.detector === detector) ?? compile([detector])[0];
  return claimed(c, bytes, ctx);
}

/**
 * Answers "does this window contain needle X?" for every detector's `contains` claims at once: each distinct needle
 * is searched once per window, and a needle whose first byte is absent is not searched at all (an erased flash
 * region or a zero-filled image holds no '-', '{' or 'e' and is dismissed in a few memchr passes).
 */
class WindowProbe {
  private readonly buf: Buffer;
  private readonly bytesSeen = new Map<number, boolean>();
  private readonly needlesSeen = new Map<Buffer, boolean>();
  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  has(needle: Buffer): boolean {
    let hit = this.needlesSeen.get(needle);
    if (hit === undefined) {
      let first = this.bytesSeen.get(needle[0]);
      if (first === undefined) {
        first = this.buf.indexOf(needle[0]) >= 0;
        this.bytesSeen.set(needle[0], first);
      }
      hit = first && this.buf.indexOf(needle) >= 0;
      this.needlesSeen.set(needle, hit);
    }
    return hit;
  }
}

/** Claimed by its structure: a magic (of at least `minMagic` bytes) at the start, or a name the detector's format uses. */
function claimedByStructure(c: CompiledDetector, bytes: Uint8Array, ctx: Pick<DetectContext, 'name' | 'baseOffset'>, minMagic = 1): boolean {
  const { magic } = c.detector.claims;
  if (ctx.baseOffset === 0 && magic) {
    for (const m of magic)
      if (m.bytes.length >= minMagic && m.offset + m.bytes.length <= bytes.length && m.bytes.every((b, i) => bytes[m.offset + i] === b)) return true;
  }
  return c.nameMatchers.some((match) => match(ctx.name));
}

/**
 * A container member that a format in `defersTo` claims by name or by a magic of 4 bytes or more (one or two bytes
 * match arbitrary data too often to decide anything by).
 */
function deferredMember(
  defersTo: readonly string[],
  all: readonly CompiledDetector[],
  bytes: Uint8Array,
  ctx: Pick<DetectContext, 'name' | 'baseOffset' | 'uri'>,
): boolean {
  if (!ctx.uri.includes('!/')) return false;
  return all.some((o) => defersTo.includes(o.detector.format) && claimedByStructure(o, bytes, ctx, 4));
}

function claimed(c: CompiledDetector, bytes: Uint8Array, ctx: Pick<DetectContext, 'name' | 'baseOffset'>, probe = new WindowProbe(bytes)): boolean {
  const { claims: cl } = c.detector;
  if (cl.anywhere) return true;
  if (claimedByStructure(c, bytes, ctx)) return true;
  return c.contains.some((needle) => probe.has(needle));
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
  const probe = new WindowProbe(bytes);
  const all = compile(table);
  for (const c of all) {
    const { detector } = c;
    if (options.only && !options.only.has(detector.format)) continue;
    if (options.skip?.has(detector.format)) continue;
    if (options.container && !detector.claims.containers) continue;
    if (!claimed(c, bytes, ctx, probe)) continue;
    if (detector.claims.defersTo && deferredMember(detector.claims.defersTo, all, bytes, ctx)) continue;
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
