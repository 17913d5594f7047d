/**
 * OpenPGP partial body lengths (RFC 9580 §4.2.1.4) from a hostile sender: after a first chunk of 512 octets every
 * further chunk may be a single octet, so a file of one-octet chunks once made millions of views (2 GB of RSS for
 * 30 MB). The chunk count and the bytes one packet may hold are bounded, and reaching either is reported.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseOpenPgpPackets } from '../../src/detectors/openpgp.js';
import { MAX_OPENPGP_PACKET_BYTES, MAX_OPENPGP_PARTIAL_CHUNKS } from '../../src/limits.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';

const LITERAL = 0xc0 | 11; // new-format header, tag 11 (Literal Data)
const COMPRESSED = 0xc0 | 8;

/** A packet of `tag` whose body is `first` (a power of two ≥ 512) in one partial chunk, then `n` one-octet chunks, then an empty final chunk. */
function oneOctetChunks(tag: number, n: number, firstBody: Uint8Array): Uint8Array {
  const exp = Math.log2(firstBody.length);
  const out = new Uint8Array(1 + 1 + firstBody.length + 2 * n + 1);
  let k = 0;
  out[k++] = tag;
  out[k++] = 0xe0 | exp;
  out.set(firstBody, k);
  k += firstBody.length;
  for (let i = 0; i < n; i++) {
    out[k++] = 0xe0; // partial length 2^0 = 1
    out[k++] = 0x61;
  }
  out[k] = 0; // final chunk of length 0
  return out;
}

function literalHead(): Uint8Array {
  const b = new Uint8Array(512).fill(0x61);
  b[0] = 0x62; // 'b': binary literal data
  b[1] = 0; // empty file name
  return b;
}

describe('OpenPGP partial body lengths', () => {
  it('stops a chain of one-octet chunks at the chunk limit and says so', () => {
    const bytes = oneOctetChunks(LITERAL, MAX_OPENPGP_PARTIAL_CHUNKS + 10, literalHead());
    const r = parseOpenPgpPackets(bytes);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'limit-entries', offset: 0 });
    expect(r.errors[0].message).toMatch(new RegExp(`more than ${MAX_OPENPGP_PARTIAL_CHUNKS} chunks`));
  });

  it('reads a chain under the limit as one packet, and the packet after it', () => {
    const first = oneOctetChunks(LITERAL, 1000, literalHead());
    const marker = Uint8Array.of(0xc0 | 10, 3, 0x50, 0x47, 0x50); // Marker packet "PGP" after the literal
    const r = parseOpenPgpPackets(Buffer.concat([first, marker]));
    expect(r.errors).toEqual([]);
  });

  it('keeps at most MAX_OPENPGP_PACKET_BYTES of one packet and reports a compressed body cut there', () => {
    // Compressed Data, algorithm 0 (uncompressed), in 1 MiB partial chunks adding up past the packet limit.
    const chunk = 1 << 20;
    const chunks = MAX_OPENPGP_PACKET_BYTES / chunk + 2;
    const parts: Uint8Array[] = [Uint8Array.of(COMPRESSED)];
    for (let i = 0; i < chunks; i++) {
      const body = new Uint8Array(chunk);
      if (i === 0) body[0] = 0; // compression algorithm: uncompressed
      for (let j = i === 0 ? 1 : 0; j < chunk; j += 5) body.set([0xc0 | 10, 3, 0x50, 0x47, 0x50].slice(0, Math.min(5, chunk - j)), j);
      parts.push(Uint8Array.of(0xe0 | 20), body);
    }
    parts.push(Uint8Array.of(0)); // final chunk, empty
    const r = parseOpenPgpPackets(Buffer.concat(parts));
    expect(r.errors.map((e) => e.code)).toContain('limit-size');
    expect(r.errors.find((e) => e.code === 'limit-size')?.message).toMatch(new RegExp(`only the first ${MAX_OPENPGP_PACKET_BYTES} are inflated`));
  });

  it('still reads what gpg writes in partial lengths (a message from a pipe)', (t) => {
    requirePrerequisite(t, needPrograms('gpg writes the partial lengths read here', 'gpg'));
    const home = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
    const data = Buffer.alloc(200_000, 0x41);
    // --store (no encryption, no compression) of stdin: a literal data packet in partial lengths.
    const r = spawnSync('gpg', ['--homedir', home, '--batch', '--store', '--compress-algo', 'none', '-o', '-'], { input: data });
    expect(r.status, r.stderr.toString()).toBe(0);
    const out = new Uint8Array(r.stdout);
    expect(out[0]).toBe(LITERAL);
    expect(out[1] & 0xe0).toBe(0xe0); // a partial length: the case under test
    expect(parseOpenPgpPackets(out).errors).toEqual([]);
  });
});
