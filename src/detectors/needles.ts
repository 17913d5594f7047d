/**
 * Which of a fixed set of byte strings (the detectors' `contains` claims) occur in a buffer, found with a few native
 * searches rather than one substring search per needle. Each needle is anchored on a pair of adjacent bytes, its
 * rarest by a fixed ranking of how common a byte is in binaries and text, and needles that share such a pair share its
 * search (the PEM labels all hold "BEGIN"): the buffer is searched natively for each anchor pair, and at each
 * occurrence only the needles anchored there are compared. A pair occurs far less often than a single byte, so the
 * comparisons done in JavaScript are few, and there are fewer anchors than needles. It answers exactly what
 * `indexOf(needle) >= 0` answers (test/detectors/needles.test.ts checks that on random and real bytes).
 * @module
 */

interface Anchored {
  /** Index into the set's needles. */
  index: number;
  needle: Uint8Array;
  /** Position of the anchor inside the needle. */
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
  /** Anchor (one byte, or two adjacent bytes) → the needles anchored on it. */
  private readonly groups: { anchor: Buffer | number; needles: Anchored[] }[];

  constructor(needles: readonly Uint8Array[]) {
    this.needles = needles;
    const groups = new Map<string, { anchor: Buffer | number; needles: Anchored[] }>();
    const add = (key: string, anchor: Buffer | number, a: Anchored) => {
      const g = groups.get(key) ?? { anchor, needles: [] };
      g.needles.push(a);
      groups.set(key, g);
    };
    // Each needle's rarest pairs (the lowest score: a rare first byte weighs most, as the native search looks for it).
    const rarest = needles.map((needle) => {
      let best = Infinity;
      let pairs: { pair: number; at: number }[] = [];
      for (let i = 0; i + 1 < needle.length; i++) {
        const score = 2 * commonness(needle[i]) + commonness(needle[i + 1]);
        if (score < best) [best, pairs] = [score, []];
        if (score === best) pairs.push({ pair: (needle[i] << 8) | needle[i + 1], at: i });
      }
      return pairs;
    });
    const open = new Set<number>();
    needles.forEach((needle, index) => {
      if (needle.length === 1) add(`b${needle[0]}`, needle[0], { index, needle, at: 0 });
      else if (needle.length > 1) open.add(index);
    });
    // Greedily, the pair that is rarest for the most needles still open anchors all of them (ties: the lower pair).
    while (open.size) {
      const count = new Map<number, number>();
      for (const i of open) for (const pair of new Set(rarest[i].map((r) => r.pair))) count.set(pair, (count.get(pair) ?? 0) + 1);
      let chosen = -1;
      for (const [pair, n] of count) if (chosen < 0 || n > count.get(chosen)! || (n === count.get(chosen)! && pair < chosen)) chosen = pair;
      const anchor = Buffer.from([chosen >> 8, chosen & 0xff]);
      for (const i of [...open]) {
        const r = rarest[i].find((x) => x.pair === chosen);
        if (!r) continue;
        add(`p${chosen}`, anchor, { index: i, needle: needles[i], at: r.at });
        open.delete(i);
      }
    }
    this.groups = [...groups.values()];
  }

  /** For each needle (by index), whether it occurs in `bytes`. An empty needle occurs everywhere. */
  find(bytes: Uint8Array): boolean[] {
    const found = this.needles.map((n) => n.length === 0);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const { anchor, needles: group } of this.groups) {
      let open = group.length;
      for (let p = buf.indexOf(anchor); p >= 0 && open > 0; p = buf.indexOf(anchor, p + 1)) {
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
