/**
 * Keeping a model's chain across the migration: an OpenSSF Model Signing `model.sig` is re-signed by signing **the
 * same statement** (same payload bytes, so the same subject root digest and manifest) with the composite ML-DSA key,
 * as shelflife's DSSE hybrid bundle beside it (`model.sig.hybrid.json`; for an OCI model artifact, a referrer of the
 * model manifest with artifactType `application/vnd.shelflife.hybrid-signature.v1+json`). model.sig is never touched, so
 * model_signing verifiers keep working (they need `--ignore-paths model.sig.hybrid.json`, since the bundle sits
 * among the model's files), and `shelflife provenance` verifies the model's integrity through either signature.
 * Uses the resign DSSE writer (assembleBundle, pae) and the signing pool; docs/provenance.md.
 * @module
 */
import { createHash } from 'node:crypto';
import { errorMessage } from '../errors.js';
import { parseModelSignature } from '../provenance/model-signing.js';
import type { SigningCertificate } from './cert.js';
import { verify } from './composite.js';
import { assembleBundle, BUNDLE_MEDIA_TYPE, pae } from './dsse.js';
import type { PlanItem } from './plan.js';
import type { ResignOptions, ResignOutcome } from './resign.js';
import { MAX_SIDECAR_BYTES } from './writers/types.js';

/** Is the artifact an OpenSSF Model Signing signature file (by its conventional name, not inside an archive)? */
export function isModelSignatureUri(uri: string): boolean {
  return /\/model\.sig$/.test(uri) && !uri.includes('!/');
}

export async function resignModelSignature(item: PlanItem, options: ResignOptions): Promise<ResignOutcome> {
  const read = item.writer.modelSignature ? await storedModelSignature(item) : await signatureFile(item);
  if ('refused' in read) return { uri: item.uri, status: 'refused', reason: read.refused };
  let payloadType: string;
  let payload: Uint8Array;
  try {
    const sig = parseModelSignature(read.bytes, read.uri);
    payloadType = sig.envelope.payloadType;
    payload = sig.envelope.payload;
    if (item.modelRoot && sig.manifest.rootDigest !== item.modelRoot && !sig.manifest.legacy)
      return {
        uri: item.uri,
        status: 'refused',
        reason: `its model signature (${read.uri}) now names the root digest ${sig.manifest.rootDigest}, the scan recorded ${item.modelRoot}: rescan before re-signing`,
      };
  } catch (e) {
    return { uri: item.uri, status: 'refused', reason: `named model.sig but not a model signature shelflife can re-sign: ${errorMessage(e)}` };
  }
  const locations = item.writer.locate(item.uri, 'dsse', item.subject);
  let target = undefined as (typeof locations)[number] | undefined;
  for (const loc of locations) {
    // Stores where signatures sit side by side (OCI referrers) never have a taken location.
    const existing = item.writer.listExisting ? await item.writer.listExisting(loc) : [await item.writer.readExisting(loc)].filter((x) => !!x);
    if (existing.some((e) => sameStatementSigned(e, payload, options.cert)))
      return { uri: item.uri, status: 'skipped', location: loc.uri, reason: 'the statement already carries a valid hybrid signature from this key' };
    if (!existing.length || item.writer.listExisting) {
      target = loc;
      break;
    }
  }
  if (!target)
    return {
      uri: item.uri,
      status: 'refused',
      reason: `every sidecar name is taken by a signature that is not ours (${locations.map((l) => l.uri).join(', ')}); left untouched`,
    };
  const sig = await options.pool.sign(pae(payloadType, payload));
  await item.writer.write(target, new TextEncoder().encode(assembleBundle(options.key.alg, options.cert, payload, sig)));
  return { uri: item.uri, status: 'signed', location: target.uri, reason: `${item.why}; the model signature's statement re-signed (same root digest)` };
}

type ReadSignature = { uri: string; bytes: Uint8Array } | { refused: string };

/** model.sig in a directory or under an S3 prefix: the file the scan saw, byte for byte. */
async function signatureFile(item: PlanItem): Promise<ReadSignature> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of item.writer.openArtifact(item.uri, item.subject)) {
    size += c.length;
    if (size > MAX_SIDECAR_BYTES) return { refused: `larger than ${MAX_SIDECAR_BYTES} bytes; not a model signature` };
    chunks.push(c);
  }
  const bytes = new Uint8Array(Buffer.concat(chunks));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== item.sha256) return { refused: changed(sha256, item.sha256) };
  return { uri: item.uri, bytes };
}

/**
 * An OCI model artifact: its manifest must be the one the scan saw (which also gives the writer the referrer's
 * subject descriptor); its model signature is a `model.sig` layer or a Sigstore-bundle referrer (the scan recorded
 * the statement's root digest, checked by the caller).
 */
async function storedModelSignature(item: PlanItem): Promise<ReadSignature> {
  const h = createHash('sha256');
  for await (const c of item.writer.openArtifact(item.uri, item.subject)) h.update(c);
  const sha256 = h.digest('hex');
  if (sha256 !== item.sha256) return { refused: changed(sha256, item.sha256) };
  const found = await item.writer.modelSignature?.(item.uri);
  if (!found) return { refused: 'the scan saw a model signature on this artifact, the registry has none now (no model.sig layer or referrer); rescan' };
  return found;
}

const changed = (now: string, then: string) => `its sha256 is now ${now}, the scan recorded ${then}: it changed since the scan; rescan before re-signing`;

/** An existing hybrid bundle over exactly this statement, from this certificate, that verifies. */
function sameStatementSigned(existing: Uint8Array, payload: Uint8Array, cert: SigningCertificate): boolean {
  let b: { mediaType?: unknown; certificate?: unknown; dsseEnvelope?: { payload?: unknown; payloadType?: unknown; signatures?: { sig?: unknown }[] } };
  try {
    b = JSON.parse(new TextDecoder().decode(existing));
  } catch {
    return false; // not JSON: not ours
  }
  const env = b?.dsseEnvelope;
  if (b?.mediaType !== BUNDLE_MEDIA_TYPE || typeof b.certificate !== 'string' || typeof env?.payload !== 'string' || typeof env.payloadType !== 'string')
    return false;
  if (!Buffer.from(b.certificate, 'base64').equals(Buffer.from(cert.der))) return false;
  const p = Buffer.from(env.payload, 'base64');
  if (!p.equals(Buffer.from(payload))) return false;
  const s = env.signatures?.[0]?.sig;
  return typeof s === 'string' && verify(cert.publicKey, pae(env.payloadType, p), Buffer.from(s, 'base64')).valid;
}
