/**
 * U-Boot FIT images and control device trees (doc/usage/fit/signature.rst, doc/usage/fit/source_file_format.rst in
 * U-Boot; the flattened device tree format of the Devicetree Specification v0.4 §5).
 *
 * FDT header (big-endian): magic 0xd00dfeed, totalsize, off_dt_struct, off_dt_strings, off_mem_rsvmap, version,
 * last_comp_version, boot_cpuid_phys, size_dt_strings, size_dt_struct. The structure block is a token stream:
 * FDT_BEGIN_NODE (name, NUL, padded to 4), FDT_END_NODE, FDT_PROP (len, nameoff, value padded), FDT_NOP, FDT_END.
 *
 * Reported: `signature*` nodes of images and configurations (`algo = "sha256,rsa2048"`, `key-name-hint`,
 * `sign-images`, the `value` length), public keys in a control FDT's `/signature/key-*` (`rsa,num-bits`,
 * `ecdsa,curve`), and as annotations the `hash*` nodes, naming images covered only by SHA-1, MD5 or CRC32.
 * @module
 */
import { catalogue, type Described } from '../catalogue/index.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { MAX_DER_DEPTH, MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { Detector, DetectResult } from './types.js';

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
/** Tokens read from one structure block before giving up (a FIT has tens of nodes). */
const MAX_TOKENS = 200_000;
/** FDTs carved out of one window (a U-Boot binary holds one control FDT). */
const MAX_FDTS = 16;

/** FIT hash algorithm names (U-Boot common/hash.c) → digest names; the weak ones are flagged. */
const HASHES: Record<string, string> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512', md5: 'MD5', crc32: 'CRC32', crc16: 'CRC16' };
const WEAK = new Set(['SHA-1', 'MD5', 'CRC32', 'CRC16']);
/** U-Boot lib/ecdsa: the curve each ecdsa<bits> name means. */
const ECDSA_CURVES: Record<string, string> = { ecdsa256: 'P256', ecdsa384: 'P384', ecdsa521: 'P521' };

interface FdtNode {
  name: string;
  path: string;
  offset: number;
  props: Map<string, { value: Uint8Array; offset: number }>;
  children: FdtNode[];
}

export const fitDetector: Detector = {
  format: 'fit',
  description: 'U-Boot FIT images and control FDTs: signature nodes (algorithm, key hint, signed images), embedded public keys, hash nodes',
  claims: {
    magic: [{ offset: 0, bytes: [0xd0, 0x0d, 0xfe, 0xed] }],
    names: ['*.itb', '*.fit', '*.dtb'],
    // u-boot-dtb.bin and other images carry the control FDT appended to the code.
    contains: ['\xd0\x0d\xfe\xed'],
  },
  detect: detectFit,
};

export function detectFit(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const annotations: Record<string, string> = {};
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = Buffer.from([0xd0, 0x0d, 0xfe, 0xed]);
  let fdts = 0;
  for (let at = buf.indexOf(magic); at >= 0 && fdts < MAX_FDTS; at = buf.indexOf(magic, at + 4)) {
    const isHead = at === 0 && ctx.baseOffset === 0;
    let root: FdtNode;
    let size: number;
    try {
      ({ root, size } = parseFdt(bytes, at));
    } catch (e) {
      rethrowUnlessParseError(e);
      // A stray d00dfeed in code is normal; a file that starts with the magic and does not parse is worth an error.
      if (isHead) throw e;
      continue;
    }
    fdts++;
    describeFdt(root, at, findings, annotations);
    if (findings.length >= MAX_OBJECTS_PER_ARTIFACT) break;
    at += Math.max(size, 4) - 4;
  }
  return { findings, errors, annotations };
}

/** Parse the FDT at `base` into a node tree, every offset and length checked against the header and the buffer. */
export function parseFdt(bytes: Uint8Array, base: number): { root: FdtNode; size: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (base + 40 > bytes.length) throw new ParseError('FDT header truncated', base, 'truncated');
  if (view.getUint32(base) !== FDT_MAGIC) throw new ParseError('no FDT magic', base);
  const total = view.getUint32(base + 4);
  const offStruct = view.getUint32(base + 8);
  const offStrings = view.getUint32(base + 12);
  const version = view.getUint32(base + 20);
  const sizeStrings = view.getUint32(base + 32);
  const sizeStruct = version >= 17 ? view.getUint32(base + 36) : total - offStruct;
  if (total < 40 || base + total > bytes.length)
    throw new ParseError(`FDT totalsize ${total} runs past the end (${bytes.length - base} bytes left)`, base, 'truncated');
  if (version < 16 || version > 17) throw new ParseError(`FDT version ${version} is not 16 or 17`, base, 'unsupported');
  if (offStruct + sizeStruct > total || offStrings + sizeStrings > total) throw new ParseError('FDT structure or strings block outside totalsize', base);
  const sEnd = base + offStruct + sizeStruct;
  const strings = bytes.subarray(base + offStrings, base + offStrings + sizeStrings);
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  let p = base + offStruct;
  const cstr = (from: number, limit: number): { s: string; end: number } => {
    let q = from;
    while (q < limit && bytes[q] !== 0) q++;
    if (q >= limit) throw new ParseError(`unterminated FDT string at offset ${from}`, from, 'truncated');
    return { s: Buffer.from(bytes.subarray(from, q)).toString('latin1'), end: q + 1 };
  };
  for (let n = 0; ; n++) {
    if (n > MAX_TOKENS) throw new ParseError(`more than ${MAX_TOKENS} FDT tokens`, p);
    if (p + 4 > sEnd) throw new ParseError('FDT structure block ends without FDT_END', p, 'truncated');
    const token = view.getUint32(p);
    p += 4;
    if (token === FDT_BEGIN_NODE) {
      const { s: name, end } = cstr(p, sEnd);
      const parent = stack[stack.length - 1];
      if (stack.length >= MAX_DER_DEPTH) throw new ParseError(`FDT nested deeper than ${MAX_DER_DEPTH}`, p);
      const node: FdtNode = { name, path: parent ? `${parent.path === '/' ? '' : parent.path}/${name}` : '/', offset: p - 4, props: new Map(), children: [] };
      if (parent) parent.children.push(node);
      else if (root) throw new ParseError('FDT has two root nodes', p);
      else root = node;
      stack.push(node);
      p = end + ((4 - ((end - base) & 3)) & 3);
    } else if (token === FDT_END_NODE) {
      if (!stack.pop()) throw new ParseError('FDT_END_NODE without a node', p - 4);
    } else if (token === FDT_PROP) {
      if (p + 8 > sEnd) throw new ParseError('FDT_PROP truncated', p, 'truncated');
      const len = view.getUint32(p);
      const nameoff = view.getUint32(p + 4);
      p += 8;
      if (p + len > sEnd) throw new ParseError(`FDT property at offset ${p - 12} claims ${len} bytes`, p - 12, 'truncated');
      if (nameoff >= strings.length) throw new ParseError(`FDT property name offset ${nameoff} outside the strings block`, p - 8);
      const node = stack[stack.length - 1];
      if (!node) throw new ParseError('FDT property outside a node', p - 12);
      const { s: name } = cstr(strings.byteOffset - bytes.byteOffset + nameoff, strings.byteOffset - bytes.byteOffset + strings.length);
      node.props.set(name, { value: bytes.subarray(p, p + len), offset: p });
      p += len;
      p += (4 - ((p - base) & 3)) & 3;
    } else if (token === FDT_NOP) {
      continue;
    } else if (token === FDT_END) {
      break;
    } else {
      throw new ParseError(`unknown FDT token ${token} at offset ${p - 4}`, p - 4);
    }
  }
  if (!root) throw new ParseError('FDT has no root node', base);
  return { root, size: total };
}

function str(node: FdtNode, prop: string): string | undefined {
  const v = node.props.get(prop)?.value;
  if (!v) return undefined;
  return Buffer.from(v).toString('latin1').replace(/\0+$/, '');
}

/** A stringlist property ("fdt", "kernel") → array. */
function strList(node: FdtNode, prop: string): string[] | undefined {
  const s = str(node, prop);
  return s === undefined ? undefined : s.split('\0').filter(Boolean);
}

function u32(node: FdtNode, prop: string): number | undefined {
  const v = node.props.get(prop)?.value;
  if (!v || v.length < 4) return undefined;
  return new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(v.length - 4);
}

/** `sha256,rsa2048` / `sha384,ecdsa384` / `sha256,rsa4096` + optional padding → canonical algorithm. */
export function describeFitAlgo(algo: string, padding?: string): Described {
  const cat = catalogue();
  const [hashName, cipher = ''] = algo.toLowerCase().split(',');
  const hash = HASHES[hashName];
  const extra = { name: algo, ...(hash ? { hash } : {}), ...(padding === 'pss' ? { mode: 'PSS' } : {}) };
  const rsa = cipher.match(/^rsa(\d+)$/);
  if (rsa) return cat.forKey('RSA', Number(rsa[1]), extra);
  if (ECDSA_CURVES[cipher]) return cat.forKey('ECDSA', ECDSA_CURVES[cipher], extra);
  if (cipher.startsWith('ecdsa')) return cat.resolve({ family: 'ECDSA' }, {}, extra);
  return cat.resolve(undefined, {}, extra);
}

function describeFdt(root: FdtNode, base: number, findings: Finding[], annotations: Record<string, string>): void {
  const cat = catalogue();
  const images = root.children.find((c) => c.name === 'images');
  const configurations = root.children.find((c) => c.name === 'configurations');
  // Signatures: /images/<img>/signature* and /configurations/<conf>/signature*.
  for (const parent of [images, configurations]) {
    for (const owner of parent?.children ?? []) {
      for (const sig of owner.children.filter((c) => /^signature(-|@|$)/.test(c.name))) {
        const algo = str(sig, 'algo');
        if (!algo) continue;
        const d = describeFitAlgo(algo, str(sig, 'padding'));
        const value = sig.props.get('value');
        const signed = strList(sig, 'sign-images') ?? strList(sig, 'signed-images');
        const ts = u32(sig, 'timestamp');
        findings.push({
          kind: 'signature',
          format: 'fit',
          algorithm: d.algorithm,
          quantum: d.quantum,
          location: { offset: sig.offset, path: sig.path },
          ...(str(sig, 'key-name-hint') ? { subject: str(sig, 'key-name-hint') } : {}),
          ...(ts !== undefined ? { created: new Date(ts * 1000).toISOString() } : {}),
          details: {
            algo,
            scope: parent === images ? 'image' : 'configuration',
            ...(str(sig, 'key-name-hint') ? { keyNameHint: str(sig, 'key-name-hint') } : {}),
            ...(signed ? { signedImages: signed } : {}),
            ...(str(sig, 'padding') ? { padding: str(sig, 'padding') } : {}),
            ...(str(sig, 'signer-name') ? { signer: `${str(sig, 'signer-name')} ${str(sig, 'signer-version') ?? ''}`.trim() } : {}),
            signed: !!value,
            ...(value ? { valueLength: value.value.length } : {}),
          },
        });
      }
    }
  }
  // Hash nodes: the weakest digest each image has is what its integrity rests on when no signature covers it.
  if (images) {
    const weak: string[] = [];
    const summary: string[] = [];
    for (const img of images.children) {
      const algos = img.children.filter((c) => /^hash(-|@|$)/.test(c.name)).map((h) => str(h, 'algo') ?? '?');
      if (algos.length === 0) continue;
      const names = algos.map((a) => HASHES[a.toLowerCase()] ?? a);
      summary.push(`${img.name}:${names.join('+')}`);
      if (names.every((n) => WEAK.has(n))) weak.push(`${img.name} (${names.join(', ')})`);
    }
    if (summary.length) annotations['fit.hashes'] = summary.join(' ');
    if (weak.length) annotations['fit.weakHashOnly'] = weak.join('; ');
    annotations['fit.images'] = String(images.children.length);
  }
  // Public keys in a control FDT: /signature/key-<name> (U-Boot tools/image-sig-host / lib/rsa/rsa-sign.c, lib/ecdsa).
  const keys = root.children.find((c) => c.name === 'signature');
  // RSA keys go in key-<hint> with `algo`; U-Boot's ECDSA code (2023.01) names the node by the bare hint.
  for (const key of keys?.children ?? []) {
    const algo = str(key, 'algo');
    const bits = u32(key, 'rsa,num-bits');
    const curve = str(key, 'ecdsa,curve');
    let d: Described;
    if (bits) d = cat.forKey('RSA', bits, algo ? { name: algo } : {});
    else if (curve) d = cat.forKey('ECDSA', curve, algo ? { name: algo } : {});
    else if (algo) d = describeFitAlgo(algo);
    else continue;
    const hash = algo ? HASHES[algo.split(',')[0]] : undefined;
    if (hash) d.algorithm.hash = hash;
    findings.push({
      kind: 'public-key',
      format: 'fit',
      algorithm: d.algorithm,
      quantum: d.quantum,
      location: { offset: key.offset, path: key.path },
      subject: str(key, 'key-name-hint') ?? key.name.replace(/^key-/, ''),
      details: { ...(algo ? { algo } : {}), ...(str(key, 'required') ? { required: str(key, 'required') } : {}), controlFdtOffset: base },
    });
  }
}
