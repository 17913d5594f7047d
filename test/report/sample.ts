/** A fixed, scored-looking scan result for report tests: deterministic, so golden files stay stable. */
import type { ScanResult } from '../../src/model.js';

export function sampleResult(root = '/srv/releases'): ScanResult {
  return {
    schemaVersion: '1',
    tool: { name: 'shelflife', version: '0.1.0' },
    scan: {
      id: 'scan-0001',
      startedAt: '2026-11-28T10:00:00.000Z',
      finishedAt: '2026-11-28T10:00:05.000Z',
      targets: [root],
      stats: { artifacts: 4, bytes: 123456, findings: 5, errors: 1 },
    },
    artifacts: [
      {
        uri: `file://${root}/fw/router-24.10.bin`,
        parent: null,
        sha256: 'a'.repeat(64),
        size: 65536,
        class: 'firmware',
        lifetime: { years: 15, source: 'rule:firmware' },
        created: { at: '2026-01-10T00:00:00.000Z', source: 'mtime' },
        exposure: {
          score: 91,
          severity: 'critical',
          explanation:
            'RSA-2048 Authenticode signature on firmware expected in service until 2041; 61% chance a CRQC exists before then; NIST IR 8547 disallows RSA-2048 after 2035. Re-sign with ML-DSA-65+ECDSA-P256 now.',
          deadlinesMissed: ['NIST IR 8547: RSA-2048 deprecated after 2030', 'NIST IR 8547: quantum-vulnerable signatures disallowed after 2035'],
        },
        findings: [
          {
            kind: 'signature',
            format: 'authenticode',
            algorithm: { id: 'RSA-2048', family: 'RSA', hash: 'SHA-256', oid: '1.2.840.113549.1.1.11' },
            quantum: { status: 'vulnerable', classicalBits: 112, nistLevel: null },
            location: { offset: 40000 },
            exposure: {
              score: 91,
              severity: 'critical',
              explanation: 'RSA-2048 Authenticode signature on firmware expected in service until 2041; re-sign with ML-DSA-65+ECDSA-P256 now.',
              deadlinesMissed: ['NIST IR 8547: RSA-2048 deprecated after 2030'],
            },
          },
          {
            kind: 'certificate',
            format: 'x509',
            algorithm: { id: 'RSA-2048', family: 'RSA', hash: 'SHA-256' },
            quantum: { status: 'vulnerable', classicalBits: 112, nistLevel: null },
            location: { offset: 40100 },
            subject: 'CN=Vendor "Firmware" Signing, O=Example|Corp',
            issuer: 'CN=Vendor Root',
            notBefore: '2025-01-01T00:00:00.000Z',
            notAfter: '2035-01-01T00:00:00.000Z',
            fingerprint: 'b'.repeat(64),
            details: { signatureAlgorithm: { id: 'RSA-4096', family: 'RSA', hash: 'SHA-384' } },
            exposure: { score: 80, severity: 'high', explanation: 'RSA-2048 certificate valid until 2035.' },
          },
        ],
        errors: [],
      },
      {
        uri: `file://${root}/models/llama.tar.gz`,
        parent: null,
        sha256: 'c'.repeat(64),
        size: 1024,
        class: 'model-weights',
        // Retired (`shelflife retire`) and still here: the headline of every human report. The reason is hostile text.
        retired: { at: '2026-03-01T09:00:00.000Z', reason: 'superseded by llama 2 <b>withdrawn</b> =cmd|x' },
        exposure: { score: 30, severity: 'medium', explanation: '=HYPERLINK("http://evil") ECDSA key material' },
        findings: [],
        errors: [{ code: 'limit-ratio', message: 'compression ratio above 200:1' }],
      },
      {
        uri: `file://${root}/models/llama.tar.gz!/keys/release.pem`,
        parent: `file://${root}/models/llama.tar.gz`,
        sha256: 'd'.repeat(64),
        size: 241,
        class: 'key-material',
        exposure: { score: 30, severity: 'medium', explanation: 'ECDSA-P256 private key.' },
        findings: [
          {
            kind: 'private-key',
            format: 'pkcs8',
            algorithm: { id: 'ECDSA-P256', family: 'ECDSA', oid: '1.2.840.10045.2.1' },
            quantum: { status: 'vulnerable', classicalBits: 128, nistLevel: null },
            location: { offset: 0 },
            exposure: { score: 30, severity: 'medium', explanation: '=cmd|" /C calc"!A0 ECDSA-P256 private key.' },
          },
        ],
        errors: [],
      },
      {
        uri: `file://${root}/fw/router-24.10.bin.p7s`,
        parent: null,
        sha256: 'e'.repeat(64),
        size: 9000,
        class: 'software-release',
        exposure: { score: 5, severity: 'low', explanation: 'Hybrid ML-DSA-65+ECDSA-P256 signature.' },
        findings: [
          {
            kind: 'signature',
            format: 'cms',
            algorithm: { id: 'ML-DSA-65+ECDSA-P256', family: 'Composite', hash: 'SHA-512', oid: '1.3.6.1.5.5.7.6.45' },
            quantum: { status: 'hybrid', classicalBits: 192, nistLevel: 3 },
            location: { path: 'signerInfos[0]' },
            exposure: { score: 5, severity: 'low', explanation: 'Hybrid ML-DSA-65+ECDSA-P256 signature.' },
          },
          {
            kind: 'encrypted-data',
            format: 'cms',
            algorithm: { id: 'AES-256', family: 'AES', mode: 'GCM', oid: '2.16.840.1.101.3.4.1.46' },
            quantum: { status: 'resistant', classicalBits: 256, nistLevel: 5 },
            location: { path: 'encryptedContentInfo' },
          },
        ],
        errors: [],
      },
    ],
  };
}
