/**
 * age encrypted files (age-encryption.org/v1, C2SP age spec): a text header `age-encryption.org/v1`, recipient
 * stanzas `-> <type> <args…>` each followed by a base64 body, the `--- <mac>` line, then the payload: a 16-byte nonce
 * and ChaCha20-Poly1305 STREAM chunks. Also the ASCII armor (`-----BEGIN AGE ENCRYPTED FILE-----`).
 * One `encrypted-data` finding per stanza (the key agreement / transport that wraps the file key, which is what a
 * quantum attacker breaks) and one for the payload cipher.
 * @module
 */
import { catalogue, type Described } from '../catalogue/index.js';
import { ParseError } from '../errors.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { DetectContext, Finding } from '../model.js';
import { findPemBlocks } from '../pkix/pem.js';
import type { Detector, DetectResult } from './types.js';

const MAGIC = 'age-encryption.org/v1\n';
const ARMOR_LABEL = 'AGE ENCRYPTED FILE';
/** The header is small text; one bigger than this is hostile. */
const MAX_HEADER = 1024 * 1024;

export const ageDetector: Detector = {
  format: 'age',
  description: 'age encrypted files (X25519, ssh-rsa, ssh-ed25519, scrypt, ML-KEM hybrid recipients), binary and armored',
  claims: { magic: [{ offset: 0, bytes: [...Buffer.from(MAGIC)] }], names: ['*.age'], contains: [`-----BEGIN ${ARMOR_LABEL}-----`] },
  detect: detectAge,
};

function detectAge(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ctx.baseOffset === 0 && b.subarray(0, MAGIC.length).toString('latin1') === MAGIC) findings.push(...parseAgeHeader(bytes, 0));
  for (const block of findPemBlocks(bytes, (l) => l === ARMOR_LABEL)) {
    if (block.error) throw new ParseError(`${block.error} at offset ${block.offset}`, block.offset);
    findings.push(...parseAgeHeader(block.der, block.offset, true));
  }
  if (findings.length === 0 && ctx.whole && /\.age$/i.test(ctx.name) && bytes.length > 0) {
    throw new ParseError('named like an age file but has no "age-encryption.org/v1" header', 0);
  }
  return { findings };
}

/**
 * Parse the header of one age file; `at` is where it sits in the artifact. Binary files get each stanza's own offset;
 * inside an armor, offsets of the decoded bytes mean nothing in the artifact, so the stanza is named by path instead.
 */
export function parseAgeHeader(bytes: Uint8Array, at: number, armored = false): Finding[] {
  const text = Buffer.from(bytes.subarray(0, Math.min(bytes.length, MAX_HEADER))).toString('latin1');
  if (!text.startsWith(MAGIC)) throw new ParseError('age payload does not start with "age-encryption.org/v1"', at);
  const macAt = text.indexOf('\n--- ');
  if (macAt < 0) throw new ParseError(`age header at offset ${at} has no "---" MAC line (truncated?)`, at, 'truncated');
  const lines = text.slice(MAGIC.length, macAt + 1).split('\n');
  const cat = catalogue();
  const findings: Finding[] = [];
  let i = 0;
  let stanzas = 0;
  let lineAt = MAGIC.length;
  while (i < lines.length && lines[i] !== '') {
    const stanzaAt = lineAt;
    const line = lines[i++];
    lineAt += line.length + 1;
    if (!line.startsWith('-> ')) throw new ParseError(`age header at offset ${at}: expected a "-> " stanza line, got "${line.slice(0, 40)}"`, at);
    const [type = '', ...args] = line.slice(3).split(' ');
    // The body: base64 lines of 64 columns, ended by the first shorter line (possibly empty).
    let body = '';
    for (;;) {
      if (i >= lines.length) throw new ParseError(`age stanza "${type}" at offset ${at} has an unterminated body`, at, 'truncated');
      const l = lines[i++];
      lineAt += l.length + 1;
      body += l;
      if (l.length < 64) break;
    }
    if (++stanzas > MAX_OBJECTS_PER_ARTIFACT) break;
    const { described, details } = describeStanza(type, args, Buffer.from(body, 'base64').length);
    findings.push({
      kind: 'encrypted-data',
      format: 'age',
      algorithm: described.algorithm,
      quantum: described.quantum,
      location: armored ? { path: `armor@${at}/recipient[${stanzas - 1}]` } : { offset: at + stanzaAt, path: `recipient[${stanzas - 1}]` },
      details: { stanza: type, ...details },
    });
  }
  if (stanzas === 0) throw new ParseError(`age header at offset ${at} has no recipient stanza`, at);
  // The payload: a 16-byte nonce, then ChaCha20-Poly1305 STREAM chunks of 64 KiB (age spec, "Payload").
  const payload = cat.byId('ChaCha20-Poly1305', { mode: 'STREAM', name: 'age payload' });
  findings.push({
    kind: 'encrypted-data',
    format: 'age',
    algorithm: payload.algorithm,
    quantum: payload.quantum,
    location: armored ? { path: `armor@${at}/payload` } : { offset: at + macAt + 1, path: 'payload' },
    details: { recipients: stanzas },
  });
  return findings;
}

function describeStanza(type: string, args: string[], bodyBytes: number): { described: Described; details: Record<string, unknown> } {
  const cat = catalogue();
  switch (type) {
    case 'X25519':
      return { described: cat.byId('X25519', { name: 'X25519' }), details: {} };
    case 'ssh-ed25519':
      // The recipient's Ed25519 key is converted to X25519 for the key agreement (age spec, ssh-ed25519 recipient).
      return { described: cat.byId('X25519', { name: 'ssh-ed25519' }), details: { recipientKey: 'Ed25519', keyTag: args[0] } };
    case 'ssh-rsa': {
      // RSA-OAEP-SHA256: the body is the OAEP ciphertext, exactly as long as the modulus.
      const bits = bodyBytes * 8;
      const d =
        bits >= 1024
          ? cat.forKey('RSA', bits, { name: 'ssh-rsa', mode: 'OAEP', hash: 'SHA-256' })
          : cat.resolve({ family: 'RSA' }, {}, { name: 'ssh-rsa', mode: 'OAEP', hash: 'SHA-256' });
      return { described: d, details: { keyTag: args[0] } };
    }
    case 'scrypt': {
      const logN = Number(args[1]);
      return {
        described: cat.byId('Password', { name: 'scrypt', mode: 'scrypt' }),
        details: { kdf: 'scrypt', workFactor: Number.isFinite(logN) ? logN : args[1] },
      };
    }
    case 'mlkem768x25519':
      // age 1.3 post-quantum hybrid recipients (X-Wing style ML-KEM-768 + X25519).
      return { described: cat.byId('ML-KEM-768+X25519', { name: type }), details: {} };
    case 'piv-p256':
      // age-plugin-yubikey: ECDH on a PIV P-256 key.
      return { described: cat.byId('ECDH-P256', { name: type }), details: { plugin: 'yubikey' } };
    default:
      return { described: cat.resolve(undefined, {}, { name: type }), details: { note: 'recipient type not known to shelflife (a plugin?)' } };
  }
}
