/**
 * Test helper: fills a real registry through the Distribution API (the same RegistryClient write calls a re-signer
 * uses) with images, indexes, OCI 1.1 artifacts, cosign-style signatures and attestations (tag schema
 * `sha256-<hex>.sig` / `.att`), Notary Project signatures (JWS and COSE envelopes, subject + referrers tag index) and
 * Sigstore bundles as referrers — laid out as cosign, notation and oras write them.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { RegistryClient } from '../../src/oci/registry.js';
import { MEDIA } from '../../src/oci/reference.js';
import { addToReferrersTag as addReferrerToTag } from '../../src/oci/referrers.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
}

export interface TestCert {
  key: KeyObject;
  keyPem: string;
  certPem: string;
  certDer: Buffer;
}

const enc = (s: string) => new TextEncoder().encode(s);
export const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A P-256 (or RSA) key and self-signed certificate made by openssl. */
export function makeCert(cn: string, alg: 'ec' | 'rsa' = 'ec'): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-cert-'));
  try {
    const keyArgs = alg === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
    execFileSync(
      'openssl',
      ['req', '-x509', ...keyArgs, '-nodes', '-days', '30', '-subj', `/CN=${cn}`, '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')],
      { stdio: 'ignore' },
    );
    const keyPem = readFileSync(join(dir, 'k.pem'), 'utf8');
    const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
    return { key: createPrivateKey(keyPem), keyPem, certPem, certDer: Buffer.from(certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A minimal ustar archive (POSIX.1-1988 header: name, mode, size, checksum, typeflag, magic). */
export function tar(files: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(typeof content === 'string' ? enc(content) : content);
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write(
      `${Math.floor(Date.UTC(2025, 0, 1) / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return new Uint8Array(Buffer.concat(parts));
}

export async function pushBlob(c: RegistryClient, repo: string, bytes: Uint8Array, mediaType: string, extra: Partial<Descriptor> = {}): Promise<Descriptor> {
  const digest = await c.pushBlob(repo, bytes);
  return { mediaType, digest, size: bytes.length, ...extra };
}

export async function pushManifest(c: RegistryClient, repo: string, ref: string | undefined, doc: object): Promise<Descriptor & { bytes: Uint8Array }> {
  const bytes = enc(JSON.stringify(doc));
  const mediaType = (doc as { mediaType: string }).mediaType;
  const digest = await c.pushManifest(repo, ref ?? digestOf(bytes), bytes, mediaType);
  return {
    mediaType,
    digest,
    size: bytes.length,
    bytes,
    ...((doc as { artifactType?: string }).artifactType ? { artifactType: (doc as { artifactType: string }).artifactType } : {}),
  };
}

const EMPTY = enc('{}');

/** An image: config + layers (tar+gzip by default). */
export async function pushImage(
  c: RegistryClient,
  repo: string,
  tag: string,
  layers: { bytes: Uint8Array; mediaType?: string; annotations?: Record<string, string> }[],
  annotations: Record<string, string> = {},
  os = 'linux',
  arch = 'amd64',
) {
  const config = enc(JSON.stringify({ architecture: arch, os, created: '2025-01-01T00:00:00Z', rootfs: { type: 'layers', diff_ids: [] } }));
  const cfg = await pushBlob(c, repo, config, 'application/vnd.oci.image.config.v1+json');
  const ls: Descriptor[] = [];
  for (const l of layers)
    ls.push(
      await pushBlob(c, repo, l.bytes, l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip', l.annotations ? { annotations: l.annotations } : {}),
    );
  return pushManifest(c, repo, tag, {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: cfg,
    layers: ls,
    ...(Object.keys(annotations).length ? { annotations } : {}),
  });
}

export async function pushIndex(c: RegistryClient, repo: string, tag: string, manifests: Descriptor[]) {
  return pushManifest(c, repo, tag, { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests });
}

/** An OCI 1.1 artifact (artifactType, empty config) with the given blobs. */
export async function pushArtifact(
  c: RegistryClient,
  repo: string,
  tag: string | undefined,
  artifactType: string,
  blobs: { bytes: Uint8Array; mediaType: string; annotations?: Record<string, string> }[],
  subject?: Descriptor,
  annotations: Record<string, string> = {},
) {
  const cfg = await pushBlob(c, repo, EMPTY, MEDIA.emptyJson);
  const layers: Descriptor[] = [];
  for (const b of blobs) layers.push(await pushBlob(c, repo, b.bytes, b.mediaType, b.annotations ? { annotations: b.annotations } : {}));
  return pushManifest(c, repo, tag, {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    artifactType,
    config: cfg,
    layers,
    ...(subject ? { subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } } : {}),
    ...(Object.keys(annotations).length ? { annotations } : {}),
  });
}

const tagFor = (digest: string) => `sha256-${digest.slice(7)}`;

/**
 * cosign sign: simple-signing payload layer, signature + certificate (+ chain) annotations, tag `sha256-<hex>.sig`.
 * With `withCertificate` false, `cosign sign --key`: the signature alone (only `cert.key` is used). `names`: the image
 * the payload names, when it is not the subject (a signature moved onto another image). Returns the signature
 * manifest, the payload and the signature, for independent checks.
 */
export async function cosignSign(
  c: RegistryClient,
  repo: string,
  host: string,
  subject: Descriptor,
  cert: Pick<TestCert, 'key'> & Partial<TestCert>,
  withCertificate = true,
  names: Pick<Descriptor, 'digest'> = subject,
) {
  const payload = enc(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': `${host}/${repo}` },
        image: { 'docker-manifest-digest': names.digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
  const signature = sign(cert.key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, cert.key).toString('base64');
  const annotations: Record<string, string> = { 'dev.cosignproject.cosign/signature': signature };
  if (withCertificate) {
    if (!cert.certPem) throw new Error('cosignSign: a keyless signature needs the certificate');
    annotations['dev.sigstore.cosign/certificate'] = cert.certPem;
    annotations['dev.sigstore.cosign/chain'] = cert.certPem;
  }
  const layer = await pushBlob(c, repo, payload, MEDIA.simpleSigning, { annotations });
  const config = enc(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
  const cfg = await pushBlob(c, repo, config, 'application/vnd.oci.image.config.v1+json');
  const m = await pushManifest(c, repo, `${tagFor(subject.digest)}.sig`, { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: cfg, layers: [layer] });
  return { ...m, payload, signature: Buffer.from(signature, 'base64') };
}

/** cosign attest: a DSSE envelope of an in-toto statement, tag `sha256-<hex>.att`. */
export async function cosignAttest(c: RegistryClient, repo: string, subject: Descriptor, cert: TestCert) {
  const statement = JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: repo, digest: { sha256: subject.digest.slice(7) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {},
  });
  const payloadType = 'application/vnd.in-toto+json';
  // DSSE PAE (DSSE spec "Protocol"): "DSSEv1" SP len(type) SP type SP len(body) SP body
  const pae = `DSSEv1 ${payloadType.length} ${payloadType} ${Buffer.byteLength(statement)} ${statement}`;
  const envelope = enc(
    JSON.stringify({
      payloadType,
      payload: Buffer.from(statement).toString('base64'),
      signatures: [{ keyid: '', sig: sign('sha256', Buffer.from(pae), cert.key).toString('base64') }],
    }),
  );
  const layer = await pushBlob(c, repo, envelope, MEDIA.dsse, {
    annotations: { predicateType: 'https://slsa.dev/provenance/v1', 'dev.sigstore.cosign/certificate': cert.certPem },
  });
  const cfg = await pushBlob(
    c,
    repo,
    enc('{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}'),
    'application/vnd.oci.image.config.v1+json',
  );
  return pushManifest(c, repo, `${tagFor(subject.digest)}.att`, { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: cfg, layers: [layer] });
}

/** Minimal CBOR (RFC 8949) for COSE_Sign1: unsigned/negative ints, byte/text strings, arrays, maps, tags. */
function cbor(v: unknown): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 256) return Buffer.from([(major << 5) | 24, n]);
    if (n < 65536) return Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') return Buffer.concat([head(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), Buffer.from(v)]);
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)]);
  if (v instanceof Map) return Buffer.concat([head(5, v.size), ...[...v].flatMap(([k, x]) => [cbor(k), cbor(x)])]);
  if (v && typeof v === 'object' && 'tag' in v) return Buffer.concat([head(6, (v as { tag: number }).tag), cbor((v as unknown as { value: unknown }).value)]);
  throw new Error('cbor: unsupported value');
}

/**
 * notation sign: a Notary Project signature envelope (JWS JSON serialization or COSE_Sign1, per the notaryproject
 * signature-envelope specs) over the subject descriptor, pushed as an artifact with `subject`; on a registry without
 * the referrers API the `sha256-<hex>` referrers tag index is updated, as notation does.
 */
export async function notarySign(c: RegistryClient, repo: string, subject: Descriptor, cert: TestCert, envelope: 'jws' | 'cose') {
  const payload = Buffer.from(JSON.stringify({ targetArtifact: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } }));
  let bytes: Uint8Array;
  let mediaType: string;
  if (envelope === 'jws') {
    const protectedHeader = Buffer.from(
      JSON.stringify({
        alg: 'ES256',
        crit: ['io.cncf.notary.signingScheme'],
        cty: 'application/vnd.cncf.notary.payload.v1+json',
        'io.cncf.notary.signingScheme': 'notary.x509',
        'io.cncf.notary.signingTime': '2025-01-01T00:00:00Z',
      }),
    ).toString('base64url');
    const input = `${protectedHeader}.${payload.toString('base64url')}`;
    const sig = sign('sha256', Buffer.from(input), { key: cert.key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    bytes = enc(
      JSON.stringify({
        payload: payload.toString('base64url'),
        protected: protectedHeader,
        header: { x5c: [cert.certDer.toString('base64')], 'io.cncf.notary.signingAgent': 'shelflife-test' },
        signature: sig,
      }),
    );
    mediaType = MEDIA.jws;
  } else {
    // COSE_Sign1 (RFC 9052 §4.2): [protected {1: -7 (ES256), 3: cty}, unprotected {33: x5chain}, payload, signature]
    const prot = cbor(
      new Map<number, unknown>([
        [1, -7],
        [3, 'application/vnd.cncf.notary.payload.v1+json'],
      ]),
    );
    const toSign = cbor(['Signature1', new Uint8Array(prot), new Uint8Array(), new Uint8Array(payload)]);
    const sig = sign('sha256', toSign, { key: cert.key, dsaEncoding: 'ieee-p1363' });
    bytes = new Uint8Array(
      cbor({
        tag: 18,
        value: [new Uint8Array(prot), new Map<number, unknown>([[33, [new Uint8Array(cert.certDer)]]]), new Uint8Array(payload), new Uint8Array(sig)],
      }),
    );
    mediaType = MEDIA.cose;
  }
  const sigManifest = await pushArtifact(c, repo, undefined, MEDIA.notarySig, [{ bytes, mediaType }], subject, {
    'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify([createHash('sha256').update(cert.certDer).digest('hex')]),
  });
  await addToReferrersTag(c, repo, subject, sigManifest);
  return sigManifest;
}

/** A Sigstore bundle (v0.3) as a referrer: certificate + message signature over the subject manifest. */
export async function sigstoreBundle(c: RegistryClient, repo: string, subject: Descriptor & { bytes?: Uint8Array }, cert: TestCert) {
  const type = 'application/vnd.dev.sigstore.bundle.v0.3+json';
  const bundle = {
    mediaType: type,
    verificationMaterial: { certificate: { rawBytes: cert.certDer.toString('base64') }, tlogEntries: [] },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: Buffer.from(subject.digest.slice(7), 'hex').toString('base64') },
      signature: sign('sha256', Buffer.from(subject.digest), cert.key).toString('base64'),
    },
  };
  const m = await pushArtifact(c, repo, undefined, type, [{ bytes: enc(JSON.stringify(bundle)), mediaType: type }], subject);
  await addToReferrersTag(c, repo, subject, m);
  return m;
}

/** The referrers tag schema (distribution-spec v1.1 "Referrers Tag Schema"), as notation does: the production code. */
export async function addToReferrersTag(c: RegistryClient, repo: string, subject: Descriptor, referrer: Descriptor) {
  await addReferrerToTag(c, repo, subject.digest, {
    mediaType: referrer.mediaType,
    digest: referrer.digest,
    size: referrer.size,
    ...(referrer.artifactType ? { artifactType: referrer.artifactType } : {}),
  });
}

export function gz(b: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(b));
}
