/**
 * Property: whatever an archive names its members (raw bytes, percent-encodings, `..`, absolute paths, Unicode), no
 * path that resign would write lies outside the directory that held the scanned archive, and a name that climbs is
 * never a write target at all.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makePlan } from '../../src/resign/plan.js';
import { scan } from '../../src/scan/scan.js';
import { FIXTURES } from '../helpers/scan.js';

/** A ustar header with a raw name (up to 100 bytes, any bytes but NUL). */
function header(name: Uint8Array, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.set(name.subarray(0, 100), 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h[156] = 0x30;
  h.write('ustar\x0000', 257, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function tarOf(names: Uint8Array[], content: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const n of names) parts.push(header(n, content.length), content, Buffer.alloc((512 - (content.length % 512)) % 512));
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const SEGMENTS = [
  '..',
  '.',
  '',
  '%2e%2e',
  '%2E%2e',
  '%252e%252e',
  '..%2f..',
  '%2f',
  '%5c',
  'C:',
  '\\..\\',
  'victim',
  'etc',
  'ca.pem',
  '~',
  '%',
  '!',
  '!/',
  'ünï',
  '\u202e',
  '.\u2024',
];
const segment = fc.oneof(
  fc.constantFrom(...SEGMENTS),
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => Buffer.from(b.map((x) => x || 0x2e)).toString('latin1')),
);
const memberName = fc
  .tuple(fc.boolean(), fc.array(segment, { minLength: 1, maxLength: 6 }))
  .map(([absolute, segs]) => Buffer.from(`${absolute ? '/' : ''}${segs.join('/')}`, 'utf8').subarray(0, 100))
  .filter((b) => b.length > 0 && !b.includes(0));

// A certificate, so each member is selected for signing (a vulnerable RSA finding).
const DER = readFileSync(join(FIXTURES, 'pki', 'certs', 'rsa2048.der'));
const CONTENT = Buffer.from(`-----BEGIN CERTIFICATE-----\n${DER.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`);

describe('resign write targets (property)', () => {
  it('lie inside the directory that held the scanned archive, whatever the member names', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(memberName, { minLength: 1, maxLength: 5 }), async (names) => {
        const base = mkdtempSync(join(tmpdir(), 'shelflife-prop-'));
        const root = join(base, 'a', 'b', 'root');
        mkdirSync(root, { recursive: true });
        writeFileSync(join(root, 'x.tar'), tarOf(names, CONTENT));
        const doc = await scan({ targets: [root], scoring: false, concurrency: 1 });
        const plan = makePlan(doc, { status: ['vulnerable'] }, 'p7s');
        // Every member holding the certificate was either planned or refused: the property is about real targets.
        const selected = doc.artifacts.filter((a) => a.findings.some((f) => f.quantum.status === 'vulnerable')).length;
        expect(doc.artifacts.filter((a) => a.parent !== null && a.findings.length > 0).length).toBeGreaterThan(0);
        expect(plan.items.length + plan.refused.length).toBe(selected);
        for (const item of plan.items) {
          const member = doc.artifacts.find((a) => a.uri === item.uri)?.member;
          expect(member === undefined || !/(^|[\\/])\.\.([\\/]|$)/.test(decodeURIComponentSafe(member))).toBe(true);
          for (const l of item.locations) {
            expect(dirname(l.address)).toBe(root);
            expect(l.address.startsWith(`${root}/x.tar`)).toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});

function decodeURIComponentSafe(s: string): string {
  let p = s;
  for (let i = 0; i < 4; i++) {
    try {
      const d = decodeURIComponent(p);
      if (d === p) break;
      p = d;
    } catch {
      break;
    }
  }
  return p;
}
