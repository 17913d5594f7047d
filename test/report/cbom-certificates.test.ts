/**
 * Issue 16 item 12: each certificate of the CBOM references its own signature algorithm (the algorithm with its hash,
 * what the issuer signed it with: RFC 5280 §4.1.1.2) and, separately, its subject's public key. The CBOM used to set
 * `signatureAlgorithmRef` to the subject key's algorithm: the Mozilla GlobalSign root, self-signed with
 * sha1WithRSAEncryption, read as RSA-2048 with nothing about SHA-1. Checked on real certificates (the GlobalSign root,
 * the Eclipse JAR signature block's DigiCert chain) against pyca/cryptography, and against the CycloneDX 1.6 schema.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPORTERS } from '../../src/report/index.js';
import { signatureAlgorithmName } from '../../src/report/cbom.js';
import { cdxValidator } from '../helpers/cyclonedx.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { FIXTURES, scanPaths } from '../helpers/scan.js';

interface Component {
  'bom-ref': string;
  name: string;
  hashes?: { content: string }[];
  properties?: { name: string; value: string }[];
  cryptoProperties?: {
    assetType: string;
    oid?: string;
    algorithmProperties?: { primitive: string; parameterSetIdentifier?: string; padding?: string; nistQuantumSecurityLevel: number };
    certificateProperties?: { subjectName?: string; signatureAlgorithmRef?: string; subjectPublicKeyRef?: string };
    relatedCryptoMaterialProperties?: { type: string; algorithmRef?: string; size?: number };
  };
}

const REAL = join(FIXTURES, 'pki', 'realworld');
const TARGETS = [join(REAL, 'mozilla-GlobalSign_Root_CA.crt'), join(REAL, 'eclipse-jgit-6.10.0-ECLIPSE_.RSA'), join(FIXTURES, 'pki', 'certs', 'ec-P-384.pem')];
let bom: { components: Component[]; dependencies: { ref: string; dependsOn: string[] }[] };
const byRef = (ref: string | undefined) => bom.components.find((c) => c['bom-ref'] === ref);
const prop = (c: Component | undefined, name: string) => c?.properties?.find((p) => p.name === name)?.value;
const certificates = () => bom.components.filter((c) => c.cryptoProperties?.assetType === 'certificate');

beforeAll(async () => {
  bom = JSON.parse(REPORTERS.cbom.render(await scanPaths(...TARGETS), {}));
});

describe('CBOM certificates: their own signature algorithm, and the subject key apart (issue 16 item 12)', () => {
  it('validates against the CycloneDX 1.6 schema', () => {
    const validate = cdxValidator();
    expect(validate(bom), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
  });

  it('the GlobalSign root (RSA-2048 key, self-signed with sha1WithRSAEncryption) says SHA-1, not its key', () => {
    const root = certificates().find((c) => c.name.startsWith('CN=GlobalSign Root CA'));
    const props = root?.cryptoProperties?.certificateProperties;
    const sig = byRef(props?.signatureAlgorithmRef);
    expect(sig?.name).toBe('sha1WithRSAEncryption (RSA-2048)');
    expect(sig?.cryptoProperties).toMatchObject({
      assetType: 'algorithm',
      oid: '1.2.840.113549.1.1.5',
      algorithmProperties: { primitive: 'signature', parameterSetIdentifier: '2048', padding: 'pkcs1v15', nistQuantumSecurityLevel: 0 },
    });
    expect(prop(sig, 'shelflife:hash')).toBe('SHA-1');
    // The subject key is a key (related crypto material), whose algorithm is RSA-2048: not the signature algorithm.
    const key = byRef(props?.subjectPublicKeyRef);
    expect(key?.cryptoProperties?.relatedCryptoMaterialProperties).toMatchObject({ type: 'public-key', algorithmRef: 'crypto/algorithm/RSA-2048', size: 2048 });
    expect(props?.subjectPublicKeyRef).not.toBe(props?.signatureAlgorithmRef);
    // The signature algorithm depends on its key algorithm; the certificate on both.
    expect(bom.dependencies.find((d) => d.ref === sig?.['bom-ref'])?.dependsOn).toEqual(['crypto/algorithm/RSA-2048']);
    expect(bom.dependencies.find((d) => d.ref === root?.['bom-ref'])?.dependsOn.sort()).toEqual(
      [props?.signatureAlgorithmRef, props?.subjectPublicKeyRef].sort(),
    );
  });

  it('an RSA-4096 CA signed by its root with SHA-384 and an ECDSA P-384 certificate signed with SHA-256 name their own', () => {
    const ca = certificates().find((c) => c.name.startsWith('CN=DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1'));
    expect(byRef(ca?.cryptoProperties?.certificateProperties?.signatureAlgorithmRef)?.name).toBe('sha384WithRSAEncryption (RSA-4096)');
    const keyAlgorithm = (c: Component) =>
      byRef(c.cryptoProperties?.certificateProperties?.subjectPublicKeyRef)?.cryptoProperties?.relatedCryptoMaterialProperties?.algorithmRef;
    const ec = certificates().find((c) => keyAlgorithm(c) === 'crypto/algorithm/ECDSA-P384');
    const ecSig = byRef(ec?.cryptoProperties?.certificateProperties?.signatureAlgorithmRef);
    expect(ecSig?.name).toBe('ecdsa-with-SHA256 (ECDSA-P384)');
    expect(ecSig?.cryptoProperties?.oid).toBe('1.2.840.10045.4.3.2');
  });

  it('every certificate: its signature algorithm OID and hash are the ones pyca/cryptography reads', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the pyca/cryptography cross-check', 'python3'));
    const script = `
import json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
certs = []
for p in sys.argv[1:]:
    data = open(p, 'rb').read()
    if data.startswith(b'-----BEGIN CERTIFICATE'): certs.append(x509.load_pem_x509_certificate(data))
    elif p.endswith('.RSA'): certs.extend(pkcs7.load_der_pkcs7_certificates(data))
    else: certs.append(x509.load_der_x509_certificate(data))
print(json.dumps([{'fp': c.fingerprint(hashes.SHA256()).hex(), 'oid': c.signature_algorithm_oid.dotted_string,
  'hash': c.signature_hash_algorithm.name if c.signature_hash_algorithm else None} for c in certs]))
`;
    const r = spawnSync('python3', ['-c', script, ...TARGETS], { encoding: 'utf8' });
    if (r.status !== 0 && /No module named/.test(r.stderr)) requirePrerequisite(ctx, 'the pyca/cryptography cross-check: python3-cryptography not installed');
    expect(r.status, r.stderr).toBe(0);
    const expected = JSON.parse(r.stdout) as { fp: string; oid: string; hash: string | null }[];
    // The root, the P-384 certificate, and the three of the JAR block's SignedData (pyca does not open the
    // timestamp token nested in its unsigned attributes).
    expect(expected.length).toBe(5);
    for (const e of expected) {
      const cert = certificates().find((c) => c.hashes?.[0]?.content === e.fp);
      expect(cert, `certificate ${e.fp} in the CBOM`).toBeDefined();
      const sig = byRef(cert?.cryptoProperties?.certificateProperties?.signatureAlgorithmRef);
      expect(sig?.cryptoProperties?.oid, e.fp).toBe(e.oid);
      expect(prop(sig, 'shelflife:hash')?.replace('-', '').toLowerCase(), e.fp).toBe(e.hash);
    }
  });

  it('names a signature algorithm by the name that carries its hash, else by key algorithm and hash', () => {
    expect(signatureAlgorithmName({ id: 'ECDSA-P384', family: 'ECDSA', hash: 'SHA-384', name: 'ecdsa-with-SHA384' })).toBe('ecdsa-with-SHA384 (ECDSA-P384)');
    expect(signatureAlgorithmName({ id: 'RSA', family: 'RSA', hash: 'SHA-256', name: 'sha256WithRSAEncryption' })).toBe('sha256WithRSAEncryption');
    expect(signatureAlgorithmName({ id: 'RSA-3072', family: 'RSA', hash: 'SHA-256', name: 'rsaEncryption' })).toBe('RSA-3072 with SHA-256');
  });
});
