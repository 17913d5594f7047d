/**
 * `--trust trust.yaml`: who the user trusts to sign models and attestations, and who may approve.
 *
 * ```yaml
 * keys:                      # trusted public keys (PEM SubjectPublicKeyInfo), e.g. model-signing `verify key`
 *   - name: release-key
 *     publicKey: keys/signing-key-pub.pem
 *     approver: true         # its VSAs / SVRs count as approvals
 *     verifiers: [https://verifier.example/release-gate]   # optional: only these VSA/SVR verifier ids
 * certificates:              # trusted roots for X.509-signed bundles (model-signing `verify certificate`), or a
 *   - name: corp-ca          # pinned signer certificate (any algorithm, composite ML-DSA included)
 *     roots: keys/ca-cert.pem
 *   - name: hybrid-release
 *     certificate: keys/release.crt
 * timestampAuthorities:      # RFC 3161 time-stamping authorities whose tokens date a signature (test results
 *   - name: corp-tsa         # carry no time of their own)
 *     certificate: keys/tsa.crt
 * sigstore:                  # Sigstore identities, verified offline against a trusted root
 *   trustedRoot: trusted_root.json
 *   identities:
 *     - name: ci
 *       subject: https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main
 *       issuer: https://token.actions.githubusercontent.com
 *       approver: false
 * ```
 * Paths are relative to the trust file. Unknown keys are rejected (an ignored option is a silent downgrade).
 * @module
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ShelflifeError } from '../errors.js';
import type { SigningCertificate } from '../resign/cert.js';
import { loadCertificate } from '../resign/keyfiles.js';
import { zod } from '../rules/libraries.js';
import { loadRulesFile } from '../rules/loader.js';

/** The trust file's schema, made on first use: zod is loaded only when a file is parsed (src/rules/libraries.ts). */
function defineTrustSchema() {
  const { z } = zod();
  const Approval = { approver: z.boolean().default(false), verifiers: z.array(z.string()).optional() };
  return z
    .object({
      keys: z.array(z.object({ name: z.string().min(1), publicKey: z.string().min(1), ...Approval }).strict()).default([]),
      certificates: z
        .array(
          z
            .object({ name: z.string().min(1), roots: z.string().min(1).optional(), certificate: z.string().min(1).optional(), ...Approval })
            .strict()
            .refine((c) => !!c.roots !== !!c.certificate, { message: 'give either roots or certificate' }),
        )
        .default([]),
      timestampAuthorities: z.array(z.object({ name: z.string().min(1), certificate: z.string().min(1) }).strict()).default([]),
      sigstore: z
        .object({
          trustedRoot: z.string().min(1),
          identities: z.array(z.object({ name: z.string().min(1), subject: z.string().min(1), issuer: z.string().min(1), ...Approval }).strict()).default([]),
        })
        .strict()
        .optional(),
    })
    .strict();
}

let trustSchema: ReturnType<typeof defineTrustSchema> | undefined;

export interface Principal {
  kind: 'key' | 'certificate' | 'sigstore';
  name: string;
  approver: boolean;
  /** VSA/SVR verifier ids this principal may vouch for (all when absent). */
  verifiers?: string[];
}

export interface TrustedKey extends Principal {
  kind: 'key';
  key: KeyObject;
}

export interface TrustedCertificates extends Principal {
  kind: 'certificate';
  /** Trusted roots (chain validation), or … */
  roots?: X509Certificate[];
  /** … one pinned signer certificate, parsed by the resign module (composite ML-DSA keys included). */
  pinned?: SigningCertificate;
}

export interface TrustedIdentity extends Principal {
  kind: 'sigstore';
  subject: string;
  issuer: string;
}

export interface TrustedTimestampAuthority {
  name: string;
  certificate: X509Certificate;
}

export interface Trust {
  file: string;
  keys: TrustedKey[];
  certificates: TrustedCertificates[];
  timestampAuthorities: TrustedTimestampAuthority[];
  sigstore?: { trustedRoot: Record<string, unknown>; identities: TrustedIdentity[] };
}

export const NO_TRUST: Trust = { file: '(no --trust)', keys: [], certificates: [], timestampAuthorities: [] };

export function loadTrust(path: string): Trust {
  // The one bounded, line-accurate YAML loader (alias bombs and oversized files refused; unknown keys named).
  const t = loadRulesFile(path, () => (trustSchema ??= defineTrustSchema()));
  const base = dirname(resolve(path));
  const read = (p: string, field: string) => {
    try {
      return readFileSync(resolve(base, p));
    } catch (e) {
      throw new ShelflifeError('config', `${path}: ${field}: cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const approval = (x: { approver: boolean; verifiers?: string[] }) => ({ approver: x.approver, ...(x.verifiers ? { verifiers: x.verifiers } : {}) });
  const keys: TrustedKey[] = t.keys.map((k) => {
    let key: KeyObject;
    try {
      key = createPublicKey(read(k.publicKey, `keys[${k.name}].publicKey`));
    } catch (e) {
      if (e instanceof ShelflifeError) throw e;
      throw new ShelflifeError('config', `${path}: keys[${k.name}]: ${k.publicKey} is not a PEM public key: ${(e as Error).message}`);
    }
    return { kind: 'key', name: k.name, key, ...approval(k) };
  });
  const certificates: TrustedCertificates[] = t.certificates.map((c) => {
    const field = `certificates[${c.name}]`;
    if (c.certificate) {
      let pinned: SigningCertificate;
      try {
        pinned = loadCertificate(resolve(base, c.certificate));
      } catch (e) {
        throw new ShelflifeError('config', `${path}: ${field}: ${(e as Error).message}`);
      }
      return { kind: 'certificate', name: c.name, pinned, ...approval(c) };
    }
    const pem = read(c.roots!, field).toString('latin1');
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (!blocks.length) throw new ShelflifeError('config', `${path}: ${field}: ${c.roots} holds no PEM certificate`);
    return { kind: 'certificate', name: c.name, roots: blocks.map((b) => new X509Certificate(b)), ...approval(c) };
  });
  const timestampAuthorities: TrustedTimestampAuthority[] = t.timestampAuthorities.map((a) => {
    const field = `timestampAuthorities[${a.name}]`;
    try {
      return { name: a.name, certificate: new X509Certificate(read(a.certificate, field)) };
    } catch (e) {
      if (e instanceof ShelflifeError) throw e;
      throw new ShelflifeError('config', `${path}: ${field}: ${a.certificate} is not a certificate: ${(e as Error).message}`);
    }
  });
  let sigstore: Trust['sigstore'];
  if (t.sigstore) {
    let root: unknown;
    try {
      root = JSON.parse(read(t.sigstore.trustedRoot, 'sigstore.trustedRoot').toString('utf8'));
    } catch (e) {
      if (e instanceof ShelflifeError) throw e;
      throw new ShelflifeError('config', `${path}: sigstore.trustedRoot is not JSON: ${(e as Error).message}`);
    }
    if (typeof root !== 'object' || root === null || !/trustedroot/.test(String((root as { mediaType?: unknown }).mediaType)))
      throw new ShelflifeError('config', `${path}: sigstore.trustedRoot is not a Sigstore trusted root (application/vnd.dev.sigstore.trustedroot+json)`);
    sigstore = {
      trustedRoot: root as Record<string, unknown>,
      identities: t.sigstore.identities.map((i) => ({ kind: 'sigstore', name: i.name, subject: i.subject, issuer: i.issuer, ...approval(i) })),
    };
  }
  return { file: path, keys, certificates, timestampAuthorities, ...(sigstore ? { sigstore } : {}) };
}
