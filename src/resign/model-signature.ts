/**
 * Keeping a model's chain across the migration: an OpenSSF Model Signing `model.sig` is re-signed by signing **the
 * same statement** (same payload bytes, so the same subject root digest and manifest) with the composite ML-DSA key,
 * as shelflife's DSSE hybrid bundle beside it (`model.sig.hybrid.json`). model.sig is never touched, so
 * model_signing verifiers keep working (they need `--ignore-paths model.sig.hybrid.json`, since the bundle sits
 * among the model's files), and `shelflife provenance` verifies the model's integrity through either signature.
 * Uses the resign DSSE writer (assembleBundle, pae) and the signing pool; docs/provenance.md.
 * @module
 */
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
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of item.writer.openArtifact(item.uri, item.subject)) {
    size += c.length;
    if (size > MAX_SIDECAR_BYTES) return { uri: item.uri, status: 'refused', reason: `larger than ${MAX_SIDECAR_BYTES} bytes; not a model signature` };
    chunks.push(c);
  }
  const bytes = new Uint8Array(Buffer.concat(chunks));
  const { createHash } = await import('node:crypto');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== item.sha256)
    return {
      uri: item.uri,
      status: 'refused',
      reason: `its sha256 is now ${sha256}, the scan recorded ${item.sha256}: it changed since the scan; rescan before re-signing`,
    };
  let payloadType: string;
  let payload: Uint8Array;
  try {
    const sig = parseModelSignature(bytes, item.uri);
    payloadType = sig.envelope.payloadType;
    payload = sig.envelope.payload;
  } catch (e) {
    return { uri: item.uri, status: 'refused', reason: `named model.sig but not a model signature shelflife can re-sign: ${errorMessage(e)}` };
  }
  const locations = item.writer.locate(item.uri, 'dsse', item.subject);
  let target = undefined as (typeof locations)[number] | undefined;
  for (const loc of locations) {
    const existing = await item.writer.readExisting(loc);
    if (!existing) {
      target = loc;
      break;
    }
    if (sameStatementSigned(existing, payload, options.cert))
      return { uri: item.uri, status: 'skipped', location: loc.uri, reason: 'the statement already carries a valid hybrid signature from this key' };
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
