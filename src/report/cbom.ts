/**
 * CycloneDX 1.6 CBOM (JSON): every artifact is a `file` component; every distinct algorithm, certificate and piece
 * of key material is a `cryptographic-asset` component with its cryptoProperties (NIST quantum security level
 * included); `dependencies` link each artifact to the crypto assets it carries. Validated in tests against the
 * official 1.6 schema shipped by @cyclonedx/cyclonedx-library.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { findingOnSubject, type Algorithm, type ArtifactResult, type Finding, type Quantum } from '../model.js';
import { scanModels } from '../provenance/scan-models.js';
import { decodeLeniently, safeJson } from './text.js';
import type { Reporter } from './types.js';

type Primitive = 'signature' | 'pke' | 'kem' | 'key-agree' | 'block-cipher' | 'ae' | 'stream-cipher' | 'mac' | 'other' | 'unknown';

const PRIMITIVE_BY_FAMILY: Record<string, Primitive> = {
  RSA: 'signature',
  DSA: 'signature',
  ECDSA: 'signature',
  EdDSA: 'signature',
  'ML-DSA': 'signature',
  'SLH-DSA': 'signature',
  LMS: 'signature',
  XMSS: 'signature',
  Composite: 'signature',
  SM2: 'signature',
  GOST: 'signature',
  ECDH: 'key-agree',
  DH: 'key-agree',
  XDH: 'key-agree',
  ElGamal: 'pke',
  'ML-KEM': 'kem',
  AES: 'block-cipher',
  Camellia: 'block-cipher',
  '3DES': 'block-cipher',
  DES: 'block-cipher',
  RC2: 'block-cipher',
  CAST5: 'block-cipher',
  SEED: 'block-cipher',
  IDEA: 'block-cipher',
  Blowfish: 'block-cipher',
  Twofish: 'block-cipher',
  RC4: 'stream-cipher',
  ChaCha20: 'ae',
  HMAC: 'mac',
};

/** CycloneDX's nistQuantumSecurityLevel: 0 = no category met (anything Shor breaks); else the NIST category. */
function nistQuantumLevel(quantum: Quantum): number {
  if (quantum.status === 'vulnerable' || quantum.status === 'unknown') return 0;
  if (quantum.nistLevel) return quantum.nistLevel;
  const bits = quantum.classicalBits ?? 0;
  return bits >= 256 ? 5 : bits >= 192 ? 3 : bits >= 128 ? 1 : 0;
}

type Use = Pick<Finding, 'algorithm' | 'kind'>;

function primitiveOf(f: Use): Primitive {
  if (f.algorithm.family === 'RSA' && (f.kind === 'encrypted-data' || f.algorithm.mode === 'OAEP' || f.algorithm.mode === 'PKCS1-v1_5')) {
    return f.kind === 'encrypted-data' ? 'pke' : 'signature';
  }
  if (f.algorithm.mode === 'GCM' || f.algorithm.mode === 'CCM') return 'ae';
  return PRIMITIVE_BY_FAMILY[f.algorithm.family] ?? 'unknown';
}

function functionsOf(f: Use): string[] {
  const p = primitiveOf(f);
  if (p === 'signature') return f.kind === 'private-key' ? ['sign'] : ['verify'];
  if (p === 'kem') return ['encapsulate', 'decapsulate'];
  if (p === 'key-agree') return ['keygen'];
  if (p === 'pke' || p === 'block-cipher' || p === 'ae' || p === 'stream-cipher') return ['encrypt', 'decrypt'];
  if (p === 'mac') return ['tag'];
  return ['unknown'];
}

const algRef = (id: string) => `crypto/algorithm/${id}`;
const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);

export const cbomReporter: Reporter = {
  id: 'cbom',
  description: 'CycloneDX 1.6 CBOM (cryptographic bill of materials), JSON',
  extension: 'cdx.json',
  render(result) {
    const components: Record<string, unknown>[] = [];
    const algorithms = new Map<string, Record<string, unknown>>();
    const assets = new Map<string, Record<string, unknown>>();
    const dependencies = new Map<string, Set<string>>();
    const depend = (from: string, to: string) => {
      const s = dependencies.get(from) ?? new Set<string>();
      s.add(to);
      dependencies.set(from, s);
    };
    const algorithmComponent = (f: Pick<Finding, 'algorithm' | 'kind' | 'quantum'>, id: string): string => {
      const ref = algRef(id);
      // First seen wins, except that a quantum status learnt later replaces an unknown one (a certificate's issuer
      // key named before the key itself was read).
      const known = algorithms.get(ref);
      if (!known || (quantumStatusOf(known) === 'unknown' && f.quantum.status !== 'unknown')) {
        const oid = f.kind !== 'signature' && f.algorithm.oid !== RSA_ENCRYPTION ? f.algorithm.oid : undefined;
        algorithms.set(ref, algorithmAsset(ref, id, { ...f.algorithm, oid }, f.quantum, primitiveOf(f), functionsOf(f)));
      }
      return ref;
    };
    /**
     * A signature algorithm is its own component: the algorithm with its hash (`sha1WithRSAEncryption`,
     * `ecdsa-with-SHA384`), whose security is the weaker of the two. The key algorithm of the signer (RSA-2048) is
     * another component, shared by every key and signature of that algorithm whatever the hash.
     */
    const signatureAlgorithmComponent = (alg: Algorithm, quantum: Quantum): string => {
      if (!alg.hash) return algorithmComponent({ algorithm: alg, quantum, kind: 'signature' }, alg.id);
      const ref = `${algRef(alg.id)}/${alg.hash}`;
      if (!algorithms.has(ref)) {
        const asset = algorithmAsset(ref, signatureAlgorithmName(alg), alg, quantum, 'signature', ['verify']);
        const props = asset.cryptoProperties as { algorithmProperties: Record<string, unknown>; oid?: string };
        if (alg.family === 'RSA') props.algorithmProperties.padding = /pss/i.test(`${alg.name ?? ''} ${alg.mode ?? ''}`) ? 'other' : 'pkcs1v15';
        if (alg.oid && alg.oid !== RSA_ENCRYPTION) props.oid = alg.oid;
        (asset.properties as { name: string; value: string }[]).push(
          { name: 'shelflife:hash', value: alg.hash },
          { name: 'shelflife:keyAlgorithm', value: alg.id },
        );
        algorithms.set(ref, asset);
        depend(ref, algorithmComponent({ algorithm: alg, quantum, kind: 'signature' }, alg.id));
      }
      return ref;
    };
    /** What a finding's key or signature is computed with: a signature's algorithm carries its hash. */
    const findingAlgorithm = (f: Finding): string =>
      f.kind === 'signature' && primitiveOf(f) === 'signature' ? signatureAlgorithmComponent(f.algorithm, f.quantum) : algorithmComponent(f, f.algorithm.id);

    for (const a of result.artifacts) {
      const fileRef = a.uri;
      components.push(fileComponent(a));
      for (const f of a.findings) {
        const alg = findingAlgorithm(f);
        if (f.kind === 'certificate') {
          const id = f.fingerprint ?? shortHash(`${a.uri}|${f.location.offset}`);
          const ref = `crypto/certificate/${id}`;
          if (!assets.has(ref)) {
            // The certificate's own signature algorithm (RFC 5280 §4.1.1.2: what its issuer signed it with), and the
            // subject's public key as the key it is (§4.1.2.7), each a component of its own.
            const sig = certificateSignature(f);
            const sigRef = sig ? signatureAlgorithmComponent(sig.algorithm, sig.quantum) : undefined;
            const keyAlg = algorithmComponent(f, f.algorithm.id);
            const keyRef = `crypto/public-key/${id}`;
            const size = f.algorithm.id.match(/^(?:RSA|DSA|DH|ElGamal)-(\d+)$/)?.[1];
            assets.set(keyRef, {
              type: 'cryptographic-asset',
              'bom-ref': keyRef,
              name: `${f.algorithm.id} public key${f.subject ? ` of ${f.subject}` : ''}`,
              cryptoProperties: {
                assetType: 'related-crypto-material',
                relatedCryptoMaterialProperties: {
                  type: 'public-key',
                  algorithmRef: keyAlg,
                  ...(size ? { size: Number(size) } : {}),
                  format: 'SubjectPublicKeyInfo',
                },
              },
            });
            depend(keyRef, keyAlg);
            assets.set(ref, {
              type: 'cryptographic-asset',
              'bom-ref': ref,
              name: f.subject || 'certificate',
              cryptoProperties: {
                assetType: 'certificate',
                certificateProperties: {
                  ...(f.subject ? { subjectName: f.subject } : {}),
                  ...(f.issuer ? { issuerName: f.issuer } : {}),
                  ...(f.notBefore ? { notValidBefore: f.notBefore } : {}),
                  ...(f.notAfter ? { notValidAfter: f.notAfter } : {}),
                  ...(sigRef ? { signatureAlgorithmRef: sigRef } : {}),
                  subjectPublicKeyRef: keyRef,
                  certificateFormat: f.format === 'x509' ? 'X.509' : f.format,
                },
              },
              ...(f.fingerprint ? { hashes: [{ alg: 'SHA-256', content: f.fingerprint }] } : {}),
            });
            depend(ref, keyRef);
            if (sigRef) depend(ref, sigRef);
          }
          depend(fileRef, ref);
        } else if (f.kind === 'public-key' || f.kind === 'private-key' || f.kind === 'signature') {
          const type = f.kind === 'signature' ? 'signature' : f.kind;
          const ref = materialRef(a, f);
          if (!assets.has(ref)) {
            const size = f.algorithm.id.match(/^(?:RSA|DSA|DH|ElGamal)-(\d+)$/)?.[1];
            assets.set(ref, {
              type: 'cryptographic-asset',
              'bom-ref': ref,
              name: `${f.algorithm.id} ${type}`,
              cryptoProperties: {
                assetType: 'related-crypto-material',
                relatedCryptoMaterialProperties: {
                  type,
                  algorithmRef: alg,
                  ...(size ? { size: Number(size) } : {}),
                  format: f.format,
                  ...(f.created ? { creationDate: f.created } : {}),
                  ...(f.notAfter ? { expirationDate: f.notAfter } : {}),
                },
              },
            });
          }
          depend(fileRef, ref);
        } else {
          depend(fileRef, alg);
        }
        depend(fileRef, alg);
      }
    }
    // Signatures cover what they sign (docs/coverage.md): an artifact signed by a signature file beside it, or
    // covered by a signed checksum list or model signature, depends on that signature and its algorithm.
    const byUri = new Map(result.artifacts.map((x) => [x.uri, x]));
    for (const a of result.artifacts) {
      for (const l of a.signedBy ?? []) {
        const holder = findingOnSubject(l) ? a : byUri.get(l.uri);
        const f = holder?.findings[l.finding];
        if (!holder || !f) continue;
        depend(a.uri, materialRef(holder, f));
        depend(a.uri, findingAlgorithm(f));
      }
    }
    // Signed models (OpenSSF Model Signing): a machine-learning-model component each, named by its root digest and
    // linked to the crypto assets of its signature (lineage, in pedigree.ancestors, comes with `provenance --format cbom`).
    for (const m of scanModels(result)) {
      const ref = `model/sha256:${m.root}/${m.uri}`;
      components.push({
        type: 'machine-learning-model',
        'bom-ref': ref,
        name: decodeURIComponent(m.uri.replace(/\/$/, '').split('/').pop() || m.uri),
        hashes: [{ alg: 'SHA-256', content: m.root }],
        properties: [
          { name: 'shelflife:uri', value: m.uri },
          { name: 'shelflife:modelSignature', value: m.signatureUri },
        ],
      });
      for (const to of dependencies.get(m.signatureUri) ?? []) depend(ref, to);
      depend(ref, m.signatureUri);
    }
    const bom = {
      $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      serialNumber: `urn:uuid:${randomUUID()}`,
      version: 1,
      metadata: {
        timestamp: result.scan.finishedAt,
        tools: { components: [{ type: 'application', name: 'shelflife', version: result.tool.version }] },
        properties: [{ name: 'shelflife:scanId', value: result.scan.id }, ...result.scan.targets.map((t) => ({ name: 'shelflife:target', value: t }))],
      },
      components: [...components, ...algorithms.values(), ...assets.values()],
      dependencies: [...dependencies.entries()].map(([ref, on]) => ({ ref, dependsOn: [...on] })),
    };
    return `${safeJson(bom, 2)}\n`;
  },
};

/** The bom-ref of a key or signature found on an artifact (one per distinct bytes, offset, path and algorithm). */
function materialRef(a: ArtifactResult, f: Finding): string {
  const type = f.kind === 'signature' ? 'signature' : f.kind;
  return `crypto/${type}/${shortHash(`${a.sha256 ?? a.uri}|${f.location.offset ?? ''}|${f.location.path ?? ''}|${f.algorithm.id}`)}`;
}

function modeOf(mode: string): string {
  const m = mode.toLowerCase();
  return ['cbc', 'ecb', 'ccm', 'gcm', 'cfb', 'ofb', 'ctr'].includes(m) ? m : 'other';
}

function fileComponent(a: ArtifactResult): Record<string, unknown> {
  const name = decodeLeniently(a.uri.split('!/').pop()!.split('/').pop() || a.uri);
  return {
    type: a.class === 'firmware' ? 'firmware' : a.class === 'model-weights' ? 'machine-learning-model' : 'file',
    'bom-ref': a.uri,
    name,
    ...(a.sha256 ? { hashes: [{ alg: 'SHA-256', content: a.sha256 }] } : {}),
    properties: [
      { name: 'shelflife:uri', value: a.uri },
      ...(a.parent ? [{ name: 'shelflife:parent', value: a.parent }] : []),
      ...(a.class ? [{ name: 'shelflife:class', value: a.class }] : []),
      ...(a.coverage ? [{ name: 'shelflife:coverage', value: a.coverage }] : []),
      ...(a.signed === false ? [{ name: 'shelflife:signed', value: 'false' }] : []),
      ...(a.migration ? [{ name: 'shelflife:migration', value: a.migration }] : []),
      ...(a.signedBy ?? []).map((l) => ({ name: 'shelflife:signedBy', value: `${l.uri} (${l.via}, ${l.algorithm}, ${l.verification})` })),
      ...(a.exposure
        ? [
            { name: 'shelflife:severity', value: a.exposure.severity },
            { name: 'shelflife:score', value: String(a.exposure.score) },
          ]
        : []),
    ],
  };
}

/** rsaEncryption (RFC 8017 A.1): the OID of an RSA key, never of a signature algorithm. */
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

function quantumStatusOf(asset: Record<string, unknown>): string | undefined {
  return (asset.properties as { name: string; value: string }[]).find((p) => p.name === 'shelflife:quantumStatus')?.value;
}

/** One algorithm component (CycloneDX 1.6 `algorithmProperties`). */
function algorithmAsset(ref: string, name: string, alg: Algorithm, quantum: Quantum, primitive: Primitive, functions: string[]): Record<string, unknown> {
  const curve = alg.id.match(/^(?:ECDSA|ECDH)-(.+)$/)?.[1];
  const param = alg.id.match(/^(?:ML-DSA|ML-KEM|RSA|DSA|DH|ElGamal|AES|Camellia)-(\d+)$/)?.[1];
  return {
    type: 'cryptographic-asset',
    'bom-ref': ref,
    name,
    cryptoProperties: {
      assetType: 'algorithm',
      algorithmProperties: {
        primitive,
        ...(param ? { parameterSetIdentifier: param } : {}),
        ...(curve ? { curve } : {}),
        ...(alg.mode && primitive !== 'signature' ? { mode: modeOf(alg.mode) } : {}),
        executionEnvironment: 'unknown',
        implementationPlatform: 'unknown',
        cryptoFunctions: functions,
        ...(quantum.classicalBits !== null ? { classicalSecurityLevel: quantum.classicalBits } : {}),
        nistQuantumSecurityLevel: nistQuantumLevel(quantum),
      },
      ...(alg.oid ? { oid: alg.oid } : {}),
    },
    properties: [{ name: 'shelflife:quantumStatus', value: quantum.status }],
  };
}

/**
 * The name of a signature algorithm with its hash: the format's own name when it says the hash
 * (`sha256WithRSAEncryption`, `ecdsa-with-SHA384`, `rsa-sha2-512`), else `<key algorithm> with <hash>`. The key's
 * parameter (RSA-2048) is added when the name does not carry it, so two components never share a name.
 */
export function signatureAlgorithmName(alg: Algorithm): string {
  const flat = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const hash = alg.hash ?? '';
  const named = alg.name && flat(alg.name).includes(flat(hash)) ? alg.name : undefined;
  if (!named) return `${alg.id} with ${hash}`;
  return alg.id === alg.family ? named : `${named} (${alg.id})`;
}

/** A certificate's own signature algorithm and its quantum status, as the x509 detector records them (details). */
function certificateSignature(f: Finding): { algorithm: Algorithm; quantum: Quantum } | undefined {
  const d = f.details as { signatureAlgorithm?: Partial<Algorithm>; signatureQuantum?: Partial<Quantum> } | undefined;
  const sa = d?.signatureAlgorithm;
  if (!sa?.id || typeof sa.id !== 'string') return undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const algorithm: Algorithm = { id: sa.id, family: text(sa.family) ?? sa.id };
  for (const k of ['hash', 'oid', 'mode', 'name'] as const) if (text(sa[k])) algorithm[k] = text(sa[k]);
  const q = d?.signatureQuantum;
  const quantum: Quantum =
    q && typeof q.status === 'string'
      ? { status: q.status, classicalBits: q.classicalBits ?? null, nistLevel: q.nistLevel ?? null }
      : { status: 'unknown', classicalBits: null, nistLevel: null };
  return { algorithm, quantum };
}
