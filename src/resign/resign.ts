/**
 * Running a resign plan, and verifying an artifact against a hybrid signature. The library calls behind
 * `shelflife resign` and `shelflife verify`.
 * Each artifact is read once: SHA-256 (to check it is the byte-exact artifact the scan saw) and the signature's
 * digest are computed in the same streamed pass; signing runs on the worker pool; the sidecar is written atomically.
 * @module
 */
import { createHash } from 'node:crypto';
import { reasonAt, ShelflifeError } from '../errors.js';
import type { SigningCertificate } from './cert.js';
import { assembleSignedData, checkDigestRule, cmsDigest, parseSignedData, signedAttributes, signerMatches, verifySigner } from './cms.js';
import { type PreHash, type PrivateKey, type VerifyResult } from './composite.js';
import { assembleBundle, DSSE_PAYLOAD_TYPE, pae, parseBundle, statementPayload, verifyBundle, type ArtifactDigests } from './dsse.js';
import { isModelSignatureUri, resignModelSignature } from './model-signature.js';
import type { Plan, PlanItem } from './plan.js';
import type { SignerPool } from './pool.js';
import type { SignatureFormat, SignatureLocation } from './writers/types.js';

type DigestName = PreHash | 'SHA-256' | 'SHA-512';

function hasher(name: DigestName) {
  if (name === 'SHAKE256') return createHash('shake256', { outputLength: 64 });
  return createHash(name === 'SHA-256' ? 'sha256' : 'sha512');
}

/** Hash a stream once with every digest asked for (each distinct algorithm once). */
export async function digestStream(stream: AsyncIterable<Uint8Array>, names: DigestName[]): Promise<Map<DigestName, Uint8Array>> {
  const unique = [...new Set(names)];
  const hs = unique.map((n) => hasher(n));
  for await (const chunk of stream) for (const h of hs) h.update(chunk);
  return new Map(unique.map((n, i) => [n, new Uint8Array(hs[i].digest())]));
}

export interface ResignOptions {
  key: PrivateKey;
  cert: SigningCertificate;
  format: SignatureFormat;
  pool: SignerPool;
  /** Artifacts in flight at once (hashing and I/O overlap signing); defaults to four per signing worker. */
  concurrency?: number;
  now?: () => Date;
  onOutcome?: (o: ResignOutcome) => void;
}

export interface ResignOutcome {
  uri: string;
  status: 'signed' | 'skipped' | 'refused' | 'failed';
  /** The signature written (or found). */
  location?: string;
  reason: string;
}

export async function runResign(plan: Plan, options: ResignOptions): Promise<ResignOutcome[]> {
  const outcomes: ResignOutcome[] = plan.refused.map((r) => ({ uri: r.uri, status: 'refused', reason: r.reason }));
  for (const o of outcomes) options.onOutcome?.(o);
  const limit = Math.max(1, options.concurrency ?? Math.max(2, 4 * options.pool.size));
  let next = 0;
  const worker = async () => {
    while (next < plan.items.length) {
      const item = plan.items[next++];
      let o: ResignOutcome;
      try {
        o = await resignOne(item, options);
      } catch (e) {
        o = { uri: item.uri, status: 'failed', reason: reasonAt(e, item.uri) };
      }
      outcomes.push(o);
      options.onOutcome?.(o);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, plan.items.length) }, worker));
  return outcomes;
}

async function resignOne(item: PlanItem, options: ResignOptions): Promise<ResignOutcome> {
  // A model's OpenSSF Model Signing signature: re-sign its statement, so the model keeps one identity (root digest).
  if (item.modelRoot || isModelSignatureUri(item.uri)) return resignModelSignature(item, options);
  const { key, cert, format } = options;
  const phName = cmsDigest(key.alg);
  const digests = await digestStream(item.writer.openArtifact(item.uri, item.subject), [
    'SHA-256',
    phName,
    ...(format === 'dsse' ? (['SHA-512'] as const) : []),
  ]);
  const sha256 = Buffer.from(digests.get('SHA-256')!).toString('hex');
  if (sha256 !== item.sha256) {
    return {
      uri: item.uri,
      status: 'refused',
      reason: `its sha256 is now ${sha256}, the scan recorded ${item.sha256}: it changed since the scan; rescan before re-signing`,
    };
  }
  const artifactDigests = { sha256, sha512: format === 'dsse' ? Buffer.from(digests.get('SHA-512')!).toString('hex') : '' };
  let target: SignatureLocation | undefined;
  for (const loc of item.locations) {
    if (item.writer.listExisting) {
      // Signatures side by side (OCI referrers): skip when one is ours and valid, else add ours next to the others.
      for (const existing of await item.writer.listExisting(loc)) {
        if (checkExisting(existing, format, cert, digests, artifactDigests, loc.uri).valid)
          return { uri: item.uri, status: 'skipped', location: loc.uri, reason: 'already carries a valid hybrid signature from this key' };
      }
      target = loc;
      break;
    }
    const existing = await item.writer.readExisting(loc);
    if (!existing) {
      target = loc;
      break;
    }
    // Idempotence: a valid signature from this same certificate over these bytes is the job already done.
    const v = checkExisting(existing, format, cert, digests, artifactDigests, loc.uri);
    if (v.valid) return { uri: item.uri, status: 'skipped', location: loc.uri, reason: 'already carries a valid hybrid signature from this key' };
  }
  if (!target)
    return {
      uri: item.uri,
      status: 'refused',
      reason: `every sidecar name is taken by a signature that is not ours (${item.locations.map((l) => l.uri).join(', ')}); left untouched`,
    };
  const now = options.now?.() ?? new Date();
  let bytes: Uint8Array;
  if (format === 'p7s') {
    const attrs = signedAttributes(key.alg, digests.get(phName)!, { signingTime: now });
    bytes = assembleSignedData(key.alg, cert, attrs, await options.pool.sign(attrs));
  } else {
    const payload = statementPayload(key.alg, item.uri, artifactDigests, now);
    bytes = new TextEncoder().encode(assembleBundle(key.alg, cert, payload, await options.pool.sign(pae(DSSE_PAYLOAD_TYPE, payload))));
  }
  await item.writer.write(target, bytes);
  return { uri: item.uri, status: 'signed', location: target.uri, reason: item.why };
}

function checkExisting(
  existing: Uint8Array,
  format: SignatureFormat,
  cert: SigningCertificate,
  digests: Map<DigestName, Uint8Array>,
  artifactDigests: ArtifactDigests,
  what: string,
): VerifyResult {
  const no: VerifyResult = { valid: false, mldsa: false, traditional: false };
  try {
    if (format === 'dsse') return verifyBundle(parseBundle(existing, what), cert, artifactDigests);
    const sd = parseSignedData(existing, what);
    const signer = sd.signers.find((s) => signerMatches(s, cert));
    const d = signer && digests.get(signer.digest);
    return signer && d ? verifySigner(signer, cert, d) : no;
  } catch {
    return no;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// verify

export interface ArtifactVerification extends VerifyResult {
  /** The artifact's digest matched what was signed. */
  digestMatches: boolean;
  algorithm?: string;
  signer?: string;
  /** The certificate came from the signature itself (integrity only, not identity). */
  embeddedCertificate: boolean;
  /** Classical signers present in the same SignedData, not verified here. */
  otherSigners: string[];
}

/**
 * Verify an artifact's bytes against a `.p7s` or JSON bundle. With `cert`, the signer must be that certificate;
 * without it, the certificate inside the signature is used and the result says so.
 */
export async function verifyArtifact(
  open: () => AsyncIterable<Uint8Array>,
  signature: Uint8Array,
  cert: SigningCertificate | undefined,
  what: string,
): Promise<ArtifactVerification> {
  const isJson = signature.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) === 0x7b;
  if (isJson) {
    const bundle = parseBundle(signature, what);
    const signerCert = cert ?? bundle.certificate;
    const d = await digestStream(open(), ['SHA-256', 'SHA-512']);
    const r = verifyBundle(bundle, signerCert, {
      sha256: Buffer.from(d.get('SHA-256')!).toString('hex'),
      sha512: Buffer.from(d.get('SHA-512')!).toString('hex'),
    });
    return { ...r, algorithm: signerCert.publicKey.alg.name, signer: signerCert.subject, embeddedCertificate: !cert, otherSigners: [] };
  }
  const sd = parseSignedData(signature, what);
  if (sd.signers.length === 0) {
    throw new ShelflifeError('verify', `no ML-DSA or composite ML-DSA signer${sd.otherSigners.length ? ` (only ${sd.otherSigners.join(', ')})` : ''}`, {
      uri: what,
    });
  }
  const pick = cert
    ? sd.signers.map((s) => ({ s, c: cert })).filter((x) => signerMatches(x.s, x.c))
    : sd.signers.flatMap((s) => sd.certificates.filter((c) => signerMatches(s, c)).map((c) => ({ s, c })));
  if (pick.length === 0) {
    throw new ShelflifeError(
      'verify',
      cert
        ? `no signer in it matches the certificate ${cert.subject} (issuer and serial differ)`
        : "the signer's certificate is not in the signature; pass --cert",
      { uri: what },
    );
  }
  const { s, c } = pick[0];
  const rule = checkDigestRule(s);
  if (rule)
    return {
      valid: false,
      mldsa: false,
      traditional: false,
      digestMatches: false,
      reason: rule,
      algorithm: s.alg.name,
      signer: c.subject,
      embeddedCertificate: !cert,
      otherSigners: sd.otherSigners,
    };
  const d = await digestStream(open(), [s.digest]);
  const r = verifySigner(s, c, d.get(s.digest)!);
  const { signer: _signer, ...rest } = r;
  return { ...rest, algorithm: s.alg.name, signer: c.subject, embeddedCertificate: !cert, otherSigners: sd.otherSigners };
}
