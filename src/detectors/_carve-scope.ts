/**
 * Where in an artifact a raw key can sit, for formats that have their own structure. Carving looks only there:
 *  - a Java class file (JVMS §4.1, magic 0xCAFEBABE and a major version ≥ 45) holds no raw binary data at all: its
 *    constant pool is typed, and bytes live only in modified-UTF-8 strings (§4.4.7), which cannot carry a DER key or a
 *    modulus verbatim (a zero byte is written C0 80). Nothing is carved in one.
 *  - an ELF file (System V ABI, ELF-64 Object File Format) keeps data in PROGBITS sections that are not executable
 *    (`.rodata`, `.data`, a vendor's own key section); code, symbol and string tables, relocations, unwind tables and
 *    debug info cannot hold a key. Bytes outside every section and header (data appended to the file) are kept too.
 * Everything else is searched whole. A window of a large file (no section table in reach) is searched whole as well;
 * the soundness checks (src/detectors/_key-soundness.ts) still apply.
 * @module
 */
import type { DetectContext } from '../model.js';

export interface Range {
  start: number;
  end: number;
}

const SHT_PROGBITS = 1;
const SHT_NOBITS = 8;
const SHF_EXECINSTR = 0x4;
/** PROGBITS sections that hold no key material: unwind and exception tables, debug info, pointers, notes, GNU metadata. */
const NOT_DATA =
  /^\.(eh_frame|gcc_except_table|z?debug|comment|note|got|plt|init_array|fini_array|preinit_array|ctors|dtors|interp|gnu|jcr|tm_clone_table|data\.rel\.ro|stab)/;

/** The byte ranges to carve in; undefined means everything. */
export function carveScope(bytes: Uint8Array, ctx: Pick<DetectContext, 'baseOffset' | 'whole'>): Range[] | undefined {
  if (ctx.baseOffset !== 0 || bytes.length < 8) return undefined;
  if (isClassFile(bytes)) return [];
  if (ctx.whole && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) return elfDataRanges(bytes);
  return undefined;
}

/** 0xCAFEBABE, then minor and major version: a class file's major is 45 (JDK 1.1) or later; a Mach-O fat binary's
 * architecture count sits in the same bytes and is small. */
function isClassFile(b: Uint8Array): boolean {
  return b[0] === 0xca && b[1] === 0xfe && b[2] === 0xba && b[3] === 0xbe && ((b[6] << 8) | b[7]) >= 45;
}

/** Non-executable PROGBITS sections that may hold data, and the bytes no section or header table covers. */
function elfDataRanges(b: Uint8Array): Range[] | undefined {
  const is64 = b[4] === 2;
  if ((b[4] !== 1 && b[4] !== 2) || (b[5] !== 1 && b[5] !== 2) || b.length < (is64 ? 64 : 52)) return undefined;
  const le = b[5] === 1;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const word = (o: number) => (is64 ? Number(dv.getBigUint64(o, le)) : u32(o));
  const ehsize = u16(is64 ? 0x34 : 0x28);
  const phoff = word(is64 ? 0x20 : 0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  // No usable section table (stripped of it, or not an ELF file after all): search everything.
  if (!shoff || !shnum || shentsize < (is64 ? 64 : 40) || shoff + shnum * shentsize > b.length || shstrndx >= shnum) return undefined;
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: u32(at),
      type: u32(at + 4),
      flags: word(at + 8),
      offset: word(at + (is64 ? 0x18 : 0x10)),
      size: word(at + (is64 ? 0x20 : 0x14)),
    };
  };
  const strtab = section(shstrndx);
  if (strtab.offset + strtab.size > b.length) return undefined;
  const nameOf = (off: number) => {
    let end = strtab.offset + off;
    while (end < strtab.offset + strtab.size && b[end] !== 0) end++;
    return Buffer.from(b.buffer, b.byteOffset + strtab.offset + off, Math.max(0, end - strtab.offset - off)).toString('latin1');
  };
  const keep: Range[] = [];
  const covered: Range[] = [
    { start: 0, end: Math.max(ehsize, 1) },
    { start: shoff, end: shoff + shnum * shentsize },
    ...(phoff && phnum ? [{ start: phoff, end: phoff + phnum * phentsize }] : []),
  ];
  for (let i = 1; i < shnum; i++) {
    const s = section(i);
    if (s.type === SHT_NOBITS || s.size === 0 || s.offset + s.size > b.length) continue;
    const range = { start: s.offset, end: s.offset + s.size };
    covered.push(range);
    if (s.type === SHT_PROGBITS && !(s.flags & SHF_EXECINSTR) && !NOT_DATA.test(nameOf(s.name))) keep.push(range);
  }
  // Bytes outside every section and header table: padding, or data appended to the file.
  covered.sort((x, y) => x.start - y.start);
  let at = 0;
  for (const c of covered) {
    if (c.start > at) keep.push({ start: at, end: c.start });
    at = Math.max(at, c.end);
  }
  if (at < b.length) keep.push({ start: at, end: b.length });
  return keep.sort((x, y) => x.start - y.start);
}
