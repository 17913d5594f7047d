/**
 * minisign (jedisct1/minisign, "Signature format" / "Public key format" in its README) and signify (OpenBSD
 * signify(1), src/usr.bin/signify/signify.c) share one framing: an `untrusted comment:` line, then one base64 line.
 *   public key  42 bytes: "Ed" ‖ key id (8) ‖ Ed25519 public key (32)                               (both tools)
 *   signature   74 bytes: "Ed"|"ED" ‖ key id (8) ‖ Ed25519 signature (64)                           (both tools)
 *               minisign adds a `trusted comment:` line and a global signature; "ED" = message prehashed with
 *               BLAKE2b-512 (the default since 0.8), "Ed" = legacy, the message signed directly.
 *   secret key  minisign 158 bytes: "Ed" ‖ kdf "Sc"|"\0\0" (scrypt) ‖ "B2" ‖ salt (32) ‖ opslimit ‖ memlimit ‖ key (104)
 *               signify 104 bytes: "Ed" ‖ kdf "BK" (bcrypt_pbkdf) ‖ rounds (u32) ‖ salt (16) ‖ checksum ‖ key id ‖ key (64)
 * The two tools' public keys and plain signatures are byte-identical in layout: the comment and the trusted-comment
 * line tell them apart (`minisign public key …` / `signify public key`), else the file name.
 * @module
 */
import { catalogue } from '../catalogue/index.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { DetectContext, Finding, FindingKind } from '../model.js';
import type { Detector, DetectResult } from './types.js';

const UNTRUSTED = 'untrusted comment:';

export interface Ed25519Blob {
  tool: 'minisign' | 'signify';
  kind: FindingKind;
  offset: number;
  keyId: string;
  comment: string;
  prehashed?: boolean;
  encrypted?: { kdf: string; [k: string]: unknown };
  /** The decoded base64 line (what verifiers need: the key or the signature bytes after algorithm and key id). */
  raw: Uint8Array;
  /** minisign signatures: the trusted comment and the global signature over signature ‖ trusted comment. */
  trusted?: { comment: string; signature: Uint8Array };
}

/** Every minisign/signify object in the bytes (bounded), classified by tool. */
export function parseEd25519Blobs(bytes: Uint8Array, ctx: Pick<DetectContext, 'name'>): Ed25519Blob[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Ed25519Blob[] = [];
  let pos = 0;
  while (out.length < MAX_OBJECTS_PER_ARTIFACT) {
    const at = b.indexOf(UNTRUSTED, pos);
    if (at < 0) break;
    pos = at + UNTRUSTED.length;
    const eol = b.indexOf(0x0a, pos);
    if (eol < 0 || eol - at > 1024) continue;
    const comment = b.toString('utf8', pos, eol).trim();
    let eol2 = b.indexOf(0x0a, eol + 1);
    if (eol2 < 0) eol2 = b.length;
    if (eol2 - eol > 400) continue;
    const line = b.toString('latin1', eol + 1, eol2).trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(line)) continue;
    const raw = Buffer.from(line, 'base64');
    const alg = raw.toString('latin1', 0, 2);
    const next = b.toString('latin1', eol2 + 1, Math.min(b.length, eol2 + 1 + 17));
    const trusted = next === 'trusted comment: ';
    const byName: 'minisign' | 'signify' | undefined = /minisign/i.test(comment)
      ? 'minisign'
      : /signify/i.test(comment)
        ? 'signify'
        : /\.minisig$/i.test(ctx.name)
          ? 'minisign'
          : /\.(sig|sec)$/i.test(ctx.name)
            ? 'signify'
            : undefined;
    const keyIdAt = (o: number) =>
      Buffer.from(raw.subarray(o, o + 8))
        .reverse()
        .toString('hex')
        .toUpperCase();
    if (raw.length === 42 && alg === 'Ed') {
      out.push({ tool: byName ?? 'minisign', kind: 'public-key', offset: at, keyId: keyIdAt(2), comment, raw });
    } else if (raw.length === 74 && (alg === 'Ed' || alg === 'ED')) {
      const tool = alg === 'ED' || trusted ? 'minisign' : (byName ?? 'signify');
      out.push({
        tool,
        kind: 'signature',
        offset: at,
        keyId: keyIdAt(2),
        comment,
        prehashed: alg === 'ED',
        raw,
        ...(trusted ? { trusted: readTrusted(b, eol2 + 1) } : {}),
      });
    } else if (raw.length === 158 && alg === 'Ed' && raw.toString('latin1', 4, 6) === 'B2') {
      const kdf = raw.toString('latin1', 2, 4);
      out.push({
        tool: 'minisign',
        kind: 'private-key',
        offset: at,
        keyId: keyIdAt(54),
        comment,
        raw,
        ...(kdf === 'Sc' ? { encrypted: { kdf: 'scrypt', opslimit: Number(raw.readBigUInt64LE(38)), memlimit: Number(raw.readBigUInt64LE(46)) } } : {}),
      });
    } else if (raw.length === 104 && alg === 'Ed') {
      const kdf = raw.toString('latin1', 2, 4);
      const rounds = raw.readUInt32BE(4);
      out.push({
        tool: 'signify',
        kind: 'private-key',
        offset: at,
        keyId: keyIdAt(32),
        comment,
        raw,
        ...(kdf === 'BK' && rounds > 0 ? { encrypted: { kdf: 'bcrypt_pbkdf', rounds } } : {}),
      });
    }
  }
  return out;
}

/** minisign's `trusted comment: …` line and the base64 global signature on the line after it. */
function readTrusted(b: Buffer, at: number): { comment: string; signature: Uint8Array } | undefined {
  const eol = b.indexOf(0x0a, at);
  if (eol < 0 || eol - at > 8192) return undefined;
  const comment = b.toString('utf8', at + 'trusted comment: '.length, eol).replace(/\r$/, '');
  let eol2 = b.indexOf(0x0a, eol + 1);
  if (eol2 < 0) eol2 = b.length;
  const line = b.toString('latin1', eol + 1, Math.min(eol2, eol + 1 + 200)).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(line)) return undefined;
  const signature = new Uint8Array(Buffer.from(line, 'base64'));
  return signature.length === 64 ? { comment, signature } : undefined;
}

export function ed25519BlobFinding(blob: Ed25519Blob): Finding {
  const hash = blob.kind === 'signature' ? (blob.prehashed ? 'BLAKE2b-512' : undefined) : undefined;
  const d = catalogue().byId('Ed25519', {
    name: blob.tool === 'minisign' && blob.kind === 'signature' ? (blob.prehashed ? 'ED (prehashed)' : 'Ed (legacy)') : 'Ed',
    ...(hash ? { hash } : {}),
  });
  return {
    kind: blob.kind,
    format: blob.tool,
    algorithm: d.algorithm,
    quantum: d.quantum,
    location: { offset: blob.offset },
    fingerprint: blob.keyId,
    details: { comment: blob.comment, ...(blob.encrypted ? { encrypted: true, ...blob.encrypted } : blob.kind === 'private-key' ? { encrypted: false } : {}) },
  };
}

export function detectEd25519Blobs(tool: 'minisign' | 'signify', bytes: Uint8Array, ctx: DetectContext): DetectResult {
  return {
    findings: parseEd25519Blobs(bytes, ctx)
      .filter((b) => b.tool === tool)
      .map(ed25519BlobFinding),
  };
}

export const minisignDetector: Detector = {
  format: 'minisign',
  description: 'minisign Ed25519 signatures (prehashed BLAKE2b-512 "ED" and legacy "Ed"), public and secret keys',
  claims: { names: ['*.minisig'], contains: [UNTRUSTED] },
  detect: (bytes, ctx) => detectEd25519Blobs('minisign', bytes, ctx),
};
