import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, generatePrimeSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { carveDetector } from '../../src/detectors/carve.js';
import { DETECTORS, runDetectors } from '../../src/detectors/index.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const REALWORLD = join(PKG, 'realworld');
/** Class files from the image's Maven cache in which 0.1 carved an "RSA key" (fixtures/packages/realworld/README.md). */
const CLASS_FILES = { 'jgit-7.3.0-AddNoteCommand.class': 4828, 'opentelemetry-sdk-metrics-1.59.0-AutoValue_ImmutableSummaryPointData.class': 2392 };
const run = (bytes: Uint8Array) => {
  const r = carveDetector.detect(bytes, ctxFor('fw.bin', bytes));
  return Array.isArray(r) ? r : r.findings;
};
const embed = (at: number, blob: Buffer, size = at + blob.length + 100) => {
  const img = randomBytes(size);
  blob.copy(img, at);
  return new Uint8Array(img);
};

describe('carve detector', () => {
  it('finds every key of the generated firmware image at the offset it was written to, in its layout', () => {
    const offsets = JSON.parse(readFileSync(join(PKG, 'firmware-keys.offsets.json'), 'utf8')) as Record<string, number>;
    const f = run(new Uint8Array(readFileSync(join(PKG, 'firmware-keys.bin'))));
    const got = Object.fromEntries(f.map((x) => [`${x.details?.layout}-${x.algorithm.id}`, x.location.offset]));
    expect(got).toEqual({
      'spki-RSA-2048': offsets['spki-rsa2048'],
      'pkcs1-RSA-3072': offsets['pkcs1-rsa3072'],
      'spki-ECDSA-P256': offsets['spki-p256'],
      'mincrypt-RSA-2048': offsets['mincrypt-rsa2048'],
      'avb-RSA-4096': offsets['avb-rsa4096'],
      'length-prefixed-RSA-3072': offsets['lenprefixed-rsa3072'],
    });
    expect(f.find((x) => x.details?.layout === 'mincrypt')?.details).toMatchObject({ exponent: '65537' });
  });

  it('an Ed25519 SPKI too; the SPKI inside a certificate is left to the x509 carver', () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
    expect(summary(run(embed(333, ed)))).toEqual(['public-key carve Ed25519']);
    const bundle = readFileSync(join(PKG, 'bundle-v0.1.sigstore.json'), 'utf8');
    const certDer = new X509Certificate(Buffer.from(JSON.parse(bundle).verificationMaterial.x509CertificateChain.certificates[0].rawBytes, 'base64')).raw;
    const img = embed(1000, certDer);
    expect(run(img)).toEqual([]);
    expect(summary(detectAll('fw.bin', img).findings)).toEqual(['certificate x509 ECDSA-P256/SHA-384']);
  });

  it('an ML-DSA-87 SPKI (IETF LAMPS example key) inside zero-filled flash', () => {
    const pem = readFileSync(join(FIXTURES, 'pki', 'realworld', 'lamps-ML-DSA-87.pub'), 'utf8');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const img = Buffer.alloc(8 * 1024 * 1024);
    der.copy(img, 4 * 1024 * 1024 + 3);
    const f = run(new Uint8Array(img));
    expect(f.map((x) => [x.algorithm.id, x.quantum.status, x.location.offset])).toEqual([['ML-DSA-87', 'resistant', 4 * 1024 * 1024 + 3]]);
  });

  it('does not report RSA private keys, bad exponents, even moduli, or a Montgomery blob with a wrong n0inv', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(run(embed(10, privateKey.export({ format: 'der', type: 'pkcs1' })))).toEqual([]);
    const pkcs1 = publicKey.export({ format: 'der', type: 'pkcs1' });
    const badE = Buffer.from(pkcs1);
    badE[badE.length - 1] = 0x03; // 65539: not 3/17/65537
    expect(run(embed(10, badE))).toEqual([]);
    const even = Buffer.from(pkcs1);
    even[even.length - 6] &= 0xfe; // modulus' last byte
    expect(run(embed(10, even))).toEqual([]);
    const fw = Buffer.from(readFileSync(join(PKG, 'firmware-keys.bin')));
    const offsets = JSON.parse(readFileSync(join(PKG, 'firmware-keys.offsets.json'), 'utf8')) as Record<string, number>;
    fw[offsets['mincrypt-rsa2048'] + 4] ^= 0x01;
    fw[offsets['avb-rsa4096'] + 7] ^= 0x01;
    expect(
      run(new Uint8Array(fw))
        .map((x) => x.details?.layout)
        .sort(),
    ).toEqual(['length-prefixed', 'pkcs1', 'spki', 'spki']);
  });

  it('leaves the keys inside an AVB vbmeta image to the avb detector', () => {
    const f = detectAll('vbmeta.img', new Uint8Array(readFileSync(join(FIXTURES, 'firmware', 'vbmeta.img')))).findings;
    expect(f.filter((x) => x.kind === 'public-key').map((x) => x.format)).toEqual(['avb', 'avb']);
    expect(run(new Uint8Array(readFileSync(join(FIXTURES, 'firmware', 'vbmeta.img'))))).toEqual([]);
  });

  it('64 MiB of random bytes yield nothing', () => {
    const noise = new Uint8Array(randomBytes(64 * 1024 * 1024));
    const t = performance.now();
    expect(run(noise)).toEqual([]);
    console.info(`carve: 64 MiB of random bytes in ${Math.round(performance.now() - t)} ms`);
  });

  it('every finding says it was carved', () => {
    const f = run(new Uint8Array(readFileSync(join(PKG, 'firmware-keys.bin'))));
    expect(f.length).toBe(6);
    for (const x of f) expect(x.details?.carved).toBe(true);
  });
});

/** `u32 BE length ‖ modulus ‖ u32 BE exponent`: the layout all 136 false positives of issue 16 had. */
const lengthPrefixed = (n: bigint, e = 65537) => {
  const mod = Buffer.from(n.toString(16).padStart(Math.ceil(n.toString(16).length / 2) * 2, '0'), 'hex');
  const out = Buffer.alloc(8 + mod.length);
  out.writeUInt32BE(mod.length, 0);
  mod.copy(out, 4);
  out.writeUInt32BE(e, 4 + mod.length);
  return out;
};
const rsaModulus = (bits: number) =>
  BigInt(`0x${Buffer.from(generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' }).n!, 'base64url').toString('hex')}`);

describe('carve: a carved key passes what a real key passes (issue 16 item 1)', () => {
  it('the Maven class files 0.1 carved an RSA key from yield nothing, and the key checks alone reject the candidate too', () => {
    for (const [name, offset] of Object.entries(CLASS_FILES)) {
      const bytes = new Uint8Array(readFileSync(join(REALWORLD, name)));
      expect(run(bytes), name).toEqual([]);
      expect(detectAll(name, bytes).findings, name).toEqual([]);
      // Without its class-file magic, the bytes at the offset 0.1 reported still fail the checks a modulus must pass.
      const unscoped = Uint8Array.from(bytes);
      unscoped[0] = 0;
      expect(run(unscoped), name).toEqual([]);
      // and the candidate itself is what 0.1 took for a key: a length prefix with an exponent after the "modulus".
      const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset);
      expect([128, 256, 384, 512, 1024, 2048, 3072, 4096]).toContain(len);
    }
  });

  it('a real key in a class file is not carved (a class file holds no raw bytes), but CAFEBABE of a Mach-O fat binary is not a class file', () => {
    const key = lengthPrefixed(rsaModulus(2048));
    const cls = embed(600, key);
    cls.set([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52]); // JDK 8
    expect(run(cls)).toEqual([]);
    const fat = embed(600, key);
    fat.set([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]); // two architectures
    expect(run(fat).map((f) => [f.algorithm.id, f.location.offset])).toEqual([['RSA-2048', 600]]);
  });

  it('a modulus that is a perfect power, reads as text, or has a small factor is not a key; a real one is', () => {
    const n = rsaModulus(2048);
    expect(run(embed(100, lengthPrefixed(n))).map((f) => f.algorithm.id)).toEqual(['RSA-2048']);
    expect(run(embed(100, lengthPrefixed(n, 65539)))).toEqual([]);
    // p²: random-looking, odd, no small factor, 2048 bits; only the perfect-power check rejects it.
    let square = 0n;
    while (square >> 2047n !== 1n) {
      const p = generatePrimeSync(1024, { bigint: true });
      square = p * p;
    }
    expect(run(embed(100, lengthPrefixed(square)))).toEqual([]);
    // Odd, 2048 bits, random bytes, but a multiple of 3.
    let multiple = BigInt(`0x${randomBytes(256).toString('hex')}`) | (1n << 2047n);
    multiple -= multiple % 3n;
    if (!(multiple & 1n)) multiple -= 3n;
    expect(run(embed(100, lengthPrefixed(multiple)))).toEqual([]);
    // Text made odd and free of small factors still reads as text: 2048 bits of ASCII have ~35 distinct bytes, not ~161.
    let text = BigInt(`0x${Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(6).slice(0, 256)).toString('hex')}`) | 1n | (1n << 2047n);
    while (!coprimeToSmallPrimes(text)) text += 2n;
    expect(run(embed(100, lengthPrefixed(text)))).toEqual([]);
  });

  it('a DER key with slack, unused bits or an EC point off its curve is not carved', () => {
    const spki = Buffer.from(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }));
    expect(run(embed(50, spki)).map((f) => f.details?.layout)).toEqual(['spki']);
    const unused = Buffer.from(spki);
    unused[unused.indexOf(Buffer.from('0382010f00', 'hex')) + 4] = 1; // BIT STRING with one unused bit
    expect(run(embed(50, unused)).filter((f) => f.details?.layout === 'spki')).toEqual([]);
    const ec = Buffer.from(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }));
    expect(run(embed(50, ec)).map((f) => f.algorithm.id)).toEqual(['ECDSA-P256']);
    const offCurve = Buffer.from(ec);
    offCurve[offCurve.length - 1] ^= 1; // y no longer on the curve
    expect(run(embed(50, offCurve))).toEqual([]);
  });

  it('an archive member whose format another detector claims is left to that detector', () => {
    const img = embed(300, lengthPrefixed(rsaModulus(2048)));
    const member = (name: string) => runDetectors(img, { ...ctxFor(name, img), uri: `file:///t/a.zip!/${name}` }).findings;
    expect(member('blob.bin').map((f) => f.format)).toEqual(['carve']);
    expect(member('server.pem')).toEqual([]);
    expect(member('kernel.efi').map((f) => f.format)).toEqual(['carve']); // an executable holds data of any kind
    // A file of its own is searched whole: a firmware image may be named anything.
    expect(runDetectors(img, ctxFor('server.pem', img)).findings.map((f) => f.format)).toEqual(['carve']);
    const formats = new Set(DETECTORS.map((d) => d.format));
    for (const f of carveDetector.claims.defersTo ?? []) expect(formats.has(f), f).toBe(true);
  });

  it('in a Debian shared library, only data sections are carved: a key written over .rodata is found, over .text it is not', (ctx) => {
    const lib = '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13';
    requirePrerequisite(ctx, needPrograms('carve/elf', 'readelf') || (existsSync(lib) ? false : `carve/elf: ${lib} is not installed (zlib1g)`));
    // Section offsets from binutils, not from our parser.
    const sections = Object.fromEntries(
      [
        ...execFileSync('readelf', ['-SW', lib])
          .toString()
          .matchAll(/\]\s+(\.\w+)\s+\w+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/g),
      ].map((m) => [m[1], { offset: parseInt(m[2], 16), size: parseInt(m[3], 16) }]),
    );
    const so = readFileSync(lib);
    expect(run(new Uint8Array(so))).toEqual([]);
    const key = lengthPrefixed(rsaModulus(2048));
    for (const [name, found] of [
      ['.rodata', true],
      ['.text', false],
    ] as const) {
      const at = sections[name].offset + 64;
      expect(sections[name].size).toBeGreaterThan(key.length + 64);
      const patched = Buffer.from(so);
      key.copy(patched, at);
      expect(
        run(new Uint8Array(patched)).map((f) => f.location.offset),
        name,
      ).toEqual(found ? [at] : []);
    }
  });
});

/** No prime factor below 2,000 (the carver's own small-factor check, written out independently). */
function coprimeToSmallPrimes(n: bigint): boolean {
  let primorial = 1n;
  for (let q = 3n; q < 2000n; q += 2n) {
    let prime = true;
    for (let d = 3n; d * d <= q; d += 2n) if (q % d === 0n) prime = false;
    if (prime) primorial *= q;
  }
  let [a, b] = [n, primorial];
  while (b) [a, b] = [b, a % b];
  return a === 1n;
}
