/**
 * Which of a fixed set of byte strings (the detectors' `contains` claims) occur in a buffer, found in one pass per
 * anchor byte rather than one substring search per needle. Each needle is anchored on its rarest byte (by a fixed
 * ranking of how common a byte is in binaries and text); the buffer is scanned for each anchor byte with the native
 * single-byte search (memchr), and at each occurrence only the needles anchored there are compared. With ~45 needles
 * over a layer of a container image this is several times cheaper than ~45 `Buffer.indexOf` passes, and it answers
 * exactly what `indexOf(needle) >= 0` answers (test/detectors/needles.test.ts checks that on random and real bytes).
 * @module
 */

interface Anchored {
  /** Index into the set's needles. */
  index: number;
  needle: Uint8Array;
  /** Position of the anchor byte inside the needle. */
  at: number;
}

/** How common a byte is, coarsely (lower = rarer): zero, 0xFF, white space and lower-case letters fill most files. */
function commonness(b: number): number {
  if (b === 0x00 || b === 0xff || b === 0x20 || b === 0x0a || (b >= 0x61 && b <= 0x7a)) return 3;
  if ((b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x2f || b === 0x5f || b === 0x22 || b < 0x20) return 2;
  return 1;
}

export class NeedleSet {
  readonly needles: readonly Uint8Array[];
  /** Anchor byte → the needles anchored on it. */
  private readonly groups: [number, Anchored[]][];

  constructor(needles: readonly Uint8Array[]) {
    this.needles = needles;
    const groups = new Map<number, Anchored[]>();
    needles.forEach((needle, index) => {
      if (!needle.length) return;
      let at = 0;
      // The rarest byte; among equals the last one (the common prefixes of a family, "-----BEGIN ", come first).
      for (let i = 1; i < needle.length; i++) if (commonness(needle[i]) <= commonness(needle[at])) at = i;
      const g = groups.get(needle[at]) ?? [];
      g.push({ index, needle, at });
      groups.set(needle[at], g);
    });
    this.groups = [...groups];
  }

  /** For each needle (by index), whether it occurs in `bytes`. An empty needle occurs everywhere. */
  find(bytes: Uint8Array): boolean[] {
    const found = this.needles.map((n) => n.length === 0);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const [byte, group] of this.groups) {
      let open = group.length;
      for (let p = buf.indexOf(byte); p >= 0 && open > 0; p = buf.indexOf(byte, p + 1)) {
        for (const a of group) {
          if (found[a.index]) continue;
          const start = p - a.at;
          if (start < 0 || start + a.needle.length > buf.length) continue;
          if (matchesAt(buf, start, a.needle)) {
            found[a.index] = true;
            open--;
          }
        }
      }
    }
    return found;
  }
}

function matchesAt(buf: Uint8Array, start: number, needle: Uint8Array): boolean {
  for (let k = 0; k < needle.length; k++) if (buf[start + k] !== needle[k]) return false;
  return true;
}
