/**
 * SSH keys, certificates and signatures, read from their wire encoding (never from the text label alone):
 * - one-line public keys, authorized_keys lines with options, known_hosts lines (plain and hashed `|1|` hosts,
 *   `@cert-authority` / `@revoked` markers) — OpenSSH sshd(8) "AUTHORIZED_KEYS FILE FORMAT" and "SSH_KNOWN_HOSTS";
 * - RFC 4716 `---- BEGIN SSH2 PUBLIC KEY ----` files;
 * - the public key blob of RFC 4253 §6.6 (ssh-rsa, ssh-dss), RFC 5656 §3.1 (ecdsa-sha2-*), RFC 8709 §4 (ssh-ed25519,
 *   ssh-ed448), OpenSSH PROTOCOL.u2f (sk-* security keys) and the OpenSSH ML-DSA-44+Ed25519 composite;
 * - OpenSSH certificates (PROTOCOL.certkeys): the certified key and the CA key that signed it;
 * - OpenSSH private keys (PROTOCOL.key, "openssh-key-v1"): cipher, KDF and rounds, and the public keys, which are
 *   stored in clear even when the private part is encrypted;
 * - SSHSIG signatures (PROTOCOL.sshsig): signer key, signature algorithm, namespace and message hash.
 * Legacy PEM private keys (`BEGIN RSA PRIVATE KEY` …) belong to the keys detector.
 * @module
 */
import { createHash } from 'node:crypto';
import { unsignedBitLength } from '../pkix/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { ParseError } from '../errors.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { Algorithm, DetectContext, ErrorEntry, Finding, FindingKind } from '../model.js';
import { findPemBlocks } from '../pkix/pem.js';
import type { Detector, DetectResult } from './types.js';

const OPENSSH_KEY_MAGIC = 'openssh-key-v1\0';
const SSHSIG_MAGIC = 'SSHSIG';
const RFC4716_BEGIN = '---- BEGIN SSH2 PUBLIC KEY ----';
const RFC4716_END = '---- END SSH2 PUBLIC KEY ----';
/** Shorter base64 runs after a key type are documentation placeholders (`ssh-rsa AAAAB3Nza…`), not keys. */
const MIN_LINE_KEY_BASE64 = 24;
/** Options or host patterns before a key type are short; text further back than this is not read (bounds the work per key). */
const MAX_LINE_PREFIX = 8192;

export const sshDetector: Detector = {
  format: 'ssh',
  description: 'SSH public keys (one-line, authorized_keys, known_hosts, RFC 4716), OpenSSH certificates, private keys and SSHSIG signatures',
  claims: {
    names: ['authorized_keys', 'authorized_keys2', 'known_hosts', 'known_hosts2', 'ssh_known_hosts', '*.pub'],
    contains: [
      'ssh-rsa',
      'ssh-dss',
      'ssh-ed25519',
      'ssh-ed448',
      'ecdsa-sha2-',
      'sk-ecdsa-sha2-',
      'sk-ssh-ed25519',
      'ssh-mldsa',
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      RFC4716_BEGIN,
      '-----BEGIN SSH SIGNATURE-----',
    ],
  },
  detect: detectSsh,
};

// ───────────────────────────── wire reader (RFC 4251 §5 data types) ─────────────────────────────

/** Bounded reader over RFC 4251 §5 types. Every read checks the remaining length first. */
class SshReader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number, field: string): void {
    if (n > this.remaining) throw new ParseError(`${this.what}: ${field} needs ${n} bytes, ${this.remaining} left`, this.pos, 'truncated');
  }
  byte(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++];
  }
  u32(field: string): number {
    this.need(4, field);
    const b = this.buf;
    const v = ((b[this.pos] << 24) >>> 0) + (b[this.pos + 1] << 16) + (b[this.pos + 2] << 8) + b[this.pos + 3];
    this.pos += 4;
    return v;
  }
  u64(field: string): bigint {
    const hi = BigInt(this.u32(field));
    return (hi << 32n) | BigInt(this.u32(field));
  }
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  string(field: string): Uint8Array {
    const n = this.u32(`${field} length`);
    return this.bytes(n, field);
  }
  /** A string that must be printable ASCII (names, namespaces, principals). */
  text(field: string, max = 1024): string {
    const s = this.string(field);
    if (s.length > max) throw new ParseError(`${this.what}: ${field} is ${s.length} bytes long`, this.pos);
    for (const c of s) if (c < 0x20 || c > 0x7e) throw new ParseError(`${this.what}: ${field} is not printable ASCII`, this.pos);
    return Buffer.from(s).toString('latin1');
  }
  /** mpint (RFC 4251 §5): two's complement, big-endian; keys must be positive. Returns the bit length. */
  positiveMpintBits(field: string): number {
    const v = this.string(field);
    if (v.length > 0 && v[0] & 0x80) throw new ParseError(`${this.what}: ${field} is negative`, this.pos);
    return unsignedBitLength(v);
  }
  end(): void {
    if (this.remaining !== 0) throw new ParseError(`${this.what}: ${this.remaining} unexpected trailing bytes`, this.pos);
  }
}

// ───────────────────────────── public key and certificate blobs ─────────────────────────────

/** What a public key blob holds, named through the catalogue. */
export interface SshKey {
  /** Key type string from inside the blob (never the text label). */
  type: string;
  described: Described;
  /** OpenSSH fingerprint: `SHA256:` + unpadded base64 of SHA-256(blob), as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** FIDO application string of sk- keys (PROTOCOL.u2f). */
  application?: string;
  cert?: SshCertificate;
}

export interface SshCertificate {
  /** SHA-256 fingerprint of the whole certificate blob (the key's own fingerprint is SshKey.fingerprint). */
  blobFingerprint: string;
  certType: 'user' | 'host' | number;
  serial: string;
  keyId: string;
  principals: string[];
  validAfter?: string;
  validBefore?: string;
  criticalOptions: string[];
  extensions: string[];
  ca: SshKey;
  /** The CA's signature: algorithm name (`rsa-sha2-512` …) and the CA key sized. */
  signatureName: string;
  signature: Described;
}

const CERT_SUFFIX = '-cert-v01@openssh.com';

/** Parse a public key or certificate blob; `what` names it in errors. Trailing bytes are an error (as in OpenSSH). */
export function parseSshPublicKeyBlob(blob: Uint8Array, what = 'SSH public key', allowCert = true): SshKey {
  const r = new SshReader(blob, what);
  const type = r.text('key type', 128);
  const key = type.endsWith(CERT_SUFFIX) ? (allowCert ? readCertificate(r, type) : notAllowed(what, type)) : readKeyFields(r, type, type);
  r.end();
  if (key.cert) key.cert.blobFingerprint = sshFingerprint(blob);
  else key.fingerprint = sshFingerprint(blob);
  return key;
}

function notAllowed(what: string, type: string): never {
  throw new ParseError(`${what}: a certificate (${type}) cannot sign a certificate`);
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function sshFingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Field layout of each key type after its type string (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4, PROTOCOL.u2f). */
function readKeyFields(r: SshReader, keyType: string, blobType: string): SshKey {
  const cat = catalogue();
  const entry = cat.data.ssh[keyType];
  const name = blobType;
  let described: Described;
  let application: string | undefined;
  if (keyType === 'ssh-rsa') {
    r.positiveMpintBits('e');
    const bits = r.positiveMpintBits('n');
    if (bits < 256) throw new ParseError(`${r.what}: RSA modulus of ${bits} bits`, r.pos);
    described = cat.forKey('RSA', bits, { name });
  } else if (keyType === 'ssh-dss') {
    const bits = r.positiveMpintBits('p');
    r.positiveMpintBits('q');
    r.positiveMpintBits('g');
    r.positiveMpintBits('y');
    described = cat.forKey('DSA', bits, { name });
  } else if (/^(sk-)?ecdsa-sha2-/.test(keyType)) {
    // RFC 5656 §3.1: the identifier inside must equal the one in the type name.
    const typeCurve = keyType.replace(/^(sk-)?ecdsa-sha2-/, '').replace(/@openssh\.com$/, '');
    const curveName = r.text('curve identifier', 64);
    if (curveName !== typeCurve) throw new ParseError(`${r.what}: curve ${curveName} inside a ${keyType} key`, r.pos);
    const q = r.string('Q');
    const token = cat.curve(curveName);
    const bits = token ? cat.curveBits(token) : undefined;
    const fieldBytes = bits ? Math.ceil((token === 'P521' ? 521 : bits * 2) / 8) : undefined;
    if (q[0] !== 0x04 || (fieldBytes !== undefined && q.length !== 1 + 2 * fieldBytes)) {
      throw new ParseError(`${r.what}: EC point of ${q.length} bytes is not an uncompressed ${curveName} point`, r.pos);
    }
    described = cat.forKey('ECDSA', curveName, { name });
    if (keyType.startsWith('sk-')) application = r.text('application', 1024);
  } else if (keyType === 'ssh-ed25519' || keyType === 'sk-ssh-ed25519@openssh.com') {
    const pk = r.string('Ed25519 public key');
    if (pk.length !== 32) throw new ParseError(`${r.what}: Ed25519 key of ${pk.length} bytes`, r.pos);
    described = cat.byId('Ed25519', { name });
    if (keyType.startsWith('sk-')) application = r.text('application', 1024);
  } else if (keyType === 'ssh-ed448') {
    const pk = r.string('Ed448 public key');
    if (pk.length !== 57) throw new ParseError(`${r.what}: Ed448 key of ${pk.length} bytes`, r.pos);
    described = cat.byId('Ed448', { name });
  } else if (keyType === 'ssh-mldsa44-ed25519@openssh.com') {
    // draft-miller-sshm-mldsa44-ed25519-composite-sigs: one string, ML-DSA-44 (1312) + Ed25519 (32) public keys.
    const pk = r.string('ML-DSA-44+Ed25519 public key');
    if (pk.length !== 1312 + 32) throw new ParseError(`${r.what}: ML-DSA-44+Ed25519 key of ${pk.length} bytes`, r.pos);
    described = cat.resolve(entry, {}, { name });
  } else {
    throw new ParseError(`${r.what}: unsupported key type ${keyType}`, 0, 'unsupported');
  }
  return { type: blobType, described, fingerprint: '', ...(application !== undefined ? { application } : {}) };
}

/** The plain key type a certificate type certifies (`ssh-rsa-cert-v01@openssh.com` → `ssh-rsa`). */
function certifiedKeyType(certType: string): string | undefined {
  const base = certType.slice(0, -CERT_SUFFIX.length);
  const ssh = catalogue().data.ssh;
  if (base === 'ssh-rsa' || base === 'ssh-dss' || base === 'ssh-ed25519' || base === 'ssh-ed448' || base.startsWith('ecdsa-sha2-')) return base;
  if (`${base}@openssh.com` in ssh) return `${base}@openssh.com`;
  return undefined;
}

/** PROTOCOL.certkeys: nonce, key fields, serial, type, key id, principals, validity, options, extensions, reserved, CA key, signature. */
function readCertificate(r: SshReader, certType: string): SshKey {
  const keyType = certifiedKeyType(certType);
  if (!keyType) throw new ParseError(`${r.what}: unsupported certificate type ${certType}`, 0, 'unsupported');
  r.string('nonce');
  const fieldsStart = r.pos;
  const key = readKeyFields(r, keyType, certType);
  // `ssh-keygen -l` names a certificate by its key's fingerprint: the plain blob is the type plus the same fields.
  const typeBytes = Buffer.from(keyType, 'latin1');
  const plainBlob = Buffer.concat([u32be(typeBytes.length), typeBytes, r.buf.subarray(fieldsStart, r.pos)]);
  key.fingerprint = sshFingerprint(plainBlob);
  const serial = r.u64('serial');
  const kind = r.u32('certificate type');
  const keyId = r.text('key id', 4096);
  const principals = readNameList(new SshReader(r.string('valid principals'), `${r.what} principals`), true);
  const validAfter = r.u64('valid after');
  const validBefore = r.u64('valid before');
  const criticalOptions = readNameList(new SshReader(r.string('critical options'), `${r.what} critical options`), false);
  const extensions = readNameList(new SshReader(r.string('extensions'), `${r.what} extensions`), false);
  r.string('reserved');
  const ca = parseSshPublicKeyBlob(r.string('signature key'), `${r.what} CA key`, false);
  const sig = new SshReader(r.string('signature'), `${r.what} signature`);
  const signatureName = sig.text('signature algorithm', 128);
  sig.string('signature blob');
  // sk- signatures append flags and counter (PROTOCOL.u2f); nothing else may follow.
  if (signatureName.startsWith('sk-')) {
    sig.byte('flags');
    sig.u32('counter');
  }
  sig.end();
  return {
    ...key,
    cert: {
      blobFingerprint: '',
      certType: kind === 1 ? 'user' : kind === 2 ? 'host' : kind,
      serial: serial.toString(),
      keyId,
      principals,
      ...timeField('validAfter', validAfter),
      ...timeField('validBefore', validBefore),
      criticalOptions,
      extensions,
      ca,
      signatureName,
      signature: describeSshSignature(signatureName, ca, r.what),
    },
  };
}

/** Principals: a sequence of strings. Options/extensions: (name string, data string) pairs; only names are kept. */
function readNameList(r: SshReader, plain: boolean): string[] {
  const out: string[] = [];
  while (r.remaining > 0 && out.length < MAX_OBJECTS_PER_ARTIFACT) {
    out.push(r.text(plain ? 'principal' : 'option name', 1024));
    if (!plain) r.string('option data');
  }
  r.end();
  return out;
}

function timeField(name: 'validAfter' | 'validBefore', seconds: bigint): Record<string, string> {
  // 0 and 2^64-1 mean "always" and "forever"; dates past year 9999 cannot be written in ISO form.
  if (seconds === 0n || seconds > 253402300799n) return {};
  return { [name]: new Date(Number(seconds) * 1000).toISOString() };
}

/**
 * A signature made by `signer` with algorithm `name`: the signer's size or curve, the hash bound by the name.
 * The name must fit the key (RFC 8332 §3: rsa-sha2-* with ssh-rsa keys; otherwise the key's own type).
 */
function describeSshSignature(name: string, signer: SshKey, what: string): Described {
  const cat = catalogue();
  const rsaNames = ['ssh-rsa', 'rsa-sha2-256', 'rsa-sha2-512'];
  // PROTOCOL.u2f: a security key may also sign as WebAuthn (webauthn-sk-ecdsa-sha2-nistp256@openssh.com).
  const fits = signer.type === 'ssh-rsa' ? rsaNames.includes(name) : name === signer.type || name === `webauthn-${signer.type}`;
  if (!fits) throw new ParseError(`${what}: signature algorithm ${name} does not match the ${signer.type} key`);
  const hash = cat.data.ssh[name]?.hash;
  const algorithm: Algorithm = { ...signer.described.algorithm, name };
  if (hash) algorithm.hash = hash;
  return { algorithm, quantum: signer.described.quantum };
}

// ───────────────────────────── findings ─────────────────────────────

function keyAlgorithm(k: SshKey): Algorithm {
  // A key has no hash of its own; signatures and certificates carry theirs.
  const { hash: _hash, ...rest } = k.described.algorithm;
  return rest;
}

function findingsForKey(k: SshKey, kind: FindingKind, offset: number, details: Record<string, unknown>, subject?: string, path?: string): Finding[] {
  const location = path ? { offset, path } : { offset };
  const extra: Record<string, unknown> = { ...details };
  if (k.application !== undefined) extra.application = k.application;
  if (!k.cert) {
    const f: Finding = { kind, format: 'ssh', algorithm: keyAlgorithm(k), quantum: k.described.quantum, location, fingerprint: k.fingerprint, details: extra };
    if (subject) f.subject = subject;
    return [f];
  }
  const c = k.cert;
  const cert: Finding = {
    kind: kind === 'private-key' ? 'private-key' : 'certificate',
    format: 'ssh',
    algorithm: { ...keyAlgorithm(k), ...(c.signature.algorithm.hash ? { hash: c.signature.algorithm.hash } : {}) },
    quantum: k.described.quantum,
    location,
    subject: c.keyId,
    issuer: c.ca.fingerprint,
    serial: c.serial,
    ...(c.validAfter ? { notBefore: c.validAfter } : {}),
    ...(c.validBefore ? { notAfter: c.validBefore } : {}),
    fingerprint: k.fingerprint,
    details: {
      ...extra,
      ...(subject ? { comment: subject } : {}),
      certificateFingerprint: c.blobFingerprint,
      certType: c.certType,
      keyId: c.keyId,
      principals: c.principals,
      criticalOptions: c.criticalOptions,
      extensions: c.extensions,
      ...(c.validBefore ? {} : { validForever: true }),
      signatureAlgorithm: c.signature.algorithm,
      signatureQuantum: c.signature.quantum,
    },
  };
  // The CA's signature is what an attacker forges to mint certificates: a finding of its own, sized by the CA key.
  const sig: Finding = {
    kind: 'signature',
    format: 'ssh',
    algorithm: c.signature.algorithm,
    quantum: c.signature.quantum,
    location: { offset, path: path ? `${path}.signature` : 'signature' },
    subject: c.keyId,
    fingerprint: c.ca.fingerprint,
    details: { signs: 'certificate', certificateFingerprint: c.blobFingerprint, caKeyType: c.ca.type },
  };
  return [cert, sig];
}

export function detectSsh(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const fail = (e: unknown, offset: number, what: string): void => {
    // Only bad input is recorded here; anything else is a bug and goes to the registry as a detector crash.
    if (!(e instanceof ParseError)) throw e;
    errors.push({ code: e.code, message: `${what} at offset ${offset}: ${e.message}`, offset });
  };
  scanPemObjects(bytes, ctx, findings, errors, fail);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  scanRfc4716(text, findings, fail);
  scanLineKeys(text, ctx, findings, errors, fail);
  return { findings, errors };
}

type Fail = (e: unknown, offset: number, what: string) => void;

function scanPemObjects(bytes: Uint8Array, ctx: DetectContext, findings: Finding[], errors: ErrorEntry[], fail: Fail): void {
  for (const block of findPemBlocks(bytes, (l) => l === 'OPENSSH PRIVATE KEY' || l === 'SSH SIGNATURE')) {
    const what = block.label === 'SSH SIGNATURE' ? 'SSH signature' : 'OpenSSH private key';
    if (block.error) {
      errors.push({ code: 'malformed', message: `${block.error} at offset ${block.offset}`, offset: block.offset });
      continue;
    }
    try {
      if (block.label === 'SSH SIGNATURE') findings.push(parseSshSig(block.der, block.offset));
      else findings.push(...parseOpenSshPrivateKey(block.der, block.offset));
    } catch (e) {
      fail(e, block.offset, what);
    }
  }
}

// ───────────────────────────── OpenSSH private keys (PROTOCOL.key) ─────────────────────────────

/** Private key fields per key type, after the type string (sshkey_private_serialize); "s" string/mpint, "b" byte. */
const PRIVATE_FIELDS: Record<string, string> = {
  'ssh-rsa': 'ssssss',
  'ssh-dss': 'sssss',
  'ssh-ed25519': 'ss',
  'ssh-ed448': 'ss',
  'sk-ssh-ed25519@openssh.com': 'ssbss',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'sssbss',
  'ssh-mldsa44-ed25519@openssh.com': 'ss',
};

/**
 * "openssh-key-v1\0" ciphername kdfname kdfoptions uint32(N) N×string(publickey) string(private section).
 * Public keys are in clear; the private section is readable only when ciphername is "none".
 */
export function parseOpenSshPrivateKey(der: Uint8Array, offset: number): Finding[] {
  const r = new SshReader(der, 'OpenSSH private key');
  const magic = Buffer.from(r.bytes(OPENSSH_KEY_MAGIC.length, 'magic')).toString('latin1');
  if (magic !== OPENSSH_KEY_MAGIC) throw new ParseError('OpenSSH private key: missing "openssh-key-v1" magic', 0);
  const cipher = r.text('cipher name', 128);
  const kdf = r.text('KDF name', 128);
  const kdfOptions = new SshReader(r.string('KDF options'), 'OpenSSH private key KDF options');
  const count = r.u32('number of keys');
  if (count === 0 || count > 1024) throw new ParseError(`OpenSSH private key: ${count} keys`, r.pos);
  const encrypted = cipher !== 'none';
  if (encrypted !== (kdf !== 'none')) throw new ParseError(`OpenSSH private key: cipher ${cipher} with KDF ${kdf}`, r.pos);
  const details: Record<string, unknown> = { encrypted, cipher, kdf };
  if (kdf === 'bcrypt') {
    // PROTOCOL.key: kdfoptions = string salt, uint32 rounds.
    details.saltBytes = kdfOptions.string('salt').length;
    details.rounds = kdfOptions.u32('rounds');
    kdfOptions.end();
  } else if (kdf === 'none') {
    kdfOptions.end();
  }
  if (encrypted) {
    const entry = catalogue().data.ssh[cipher];
    const d = catalogue().resolve(entry, {}, { name: cipher });
    details.encryption = d.algorithm;
    details.encryptionQuantum = d.quantum;
  }
  const keys: SshKey[] = [];
  for (let i = 0; i < count; i++) keys.push(parseSshPublicKeyBlob(r.string(`public key ${i}`), `OpenSSH private key, public key ${i}`));
  const priv = r.string('private section');
  // AEAD ciphers (aes*-gcm@openssh.com, chacha20-poly1305@openssh.com) append a 16-byte tag; nothing else may follow.
  const aead = encrypted && (cipher.includes('-gcm@') || cipher.startsWith('chacha20-poly1305'));
  if (aead && r.remaining !== 16) throw new ParseError(`OpenSSH private key: ${cipher} needs a 16-byte tag, ${r.remaining} bytes follow`, r.pos);
  if (!aead) r.end();
  const comments = encrypted ? [] : readPlainPrivateSection(priv, keys);
  return keys.flatMap((k, i) => findingsForKey(k, 'private-key', offset, { ...details }, comments[i] || undefined, count > 1 ? `keys[${i}]` : undefined));
}

/** Unencrypted private section: checkint ×2, then per key its type, private fields and comment, then padding 1,2,3… */
function readPlainPrivateSection(priv: Uint8Array, keys: SshKey[]): string[] {
  const r = new SshReader(priv, 'OpenSSH private key, private section');
  if (r.u32('checkint') !== r.u32('checkint')) throw new ParseError('OpenSSH private key: check integers differ in an unencrypted key', 0);
  const comments: string[] = [];
  for (const k of keys) {
    const type = r.text('key type', 128);
    if (type !== k.type) throw new ParseError(`OpenSSH private key: private part is ${type}, public part is ${k.type}`, r.pos);
    const base = k.cert ? undefined : type;
    let fields = base ? PRIVATE_FIELDS[base] : undefined;
    if (!fields && base?.startsWith('ecdsa-sha2-')) fields = 'sss';
    if (!fields) return comments; // certificate or exotic private layout: stop before the comment, no guesses
    for (const f of fields) {
      if (f === 's') r.string('private field');
      else r.byte('private flags');
    }
    comments.push(Buffer.from(r.string('comment')).toString('utf8').slice(0, 256));
  }
  for (let i = 1; r.remaining > 0; i++) {
    if (r.byte('padding') !== (i & 0xff)) throw new ParseError('OpenSSH private key: bad padding in an unencrypted key', r.pos);
  }
  return comments;
}

// ───────────────────────────── SSHSIG (PROTOCOL.sshsig) ─────────────────────────────

const SSHSIG_HASHES: Record<string, string> = { sha256: 'SHA-256', sha512: 'SHA-512' };

/** "SSHSIG" uint32(1) string(publickey) string(namespace) string(reserved) string(hash_algorithm) string(signature). */
export function parseSshSig(der: Uint8Array, offset: number): Finding {
  const r = new SshReader(der, 'SSH signature');
  if (Buffer.from(r.bytes(SSHSIG_MAGIC.length, 'magic')).toString('latin1') !== SSHSIG_MAGIC) throw new ParseError('SSH signature: missing "SSHSIG" magic', 0);
  const version = r.u32('version');
  if (version !== 1) throw new ParseError(`SSH signature: version ${version}`, 6, 'unsupported');
  const signer = parseSshPublicKeyBlob(r.string('public key'), 'SSH signature public key');
  const namespace = r.text('namespace', 1024);
  r.string('reserved');
  const hashName = r.text('hash algorithm', 64);
  const sig = new SshReader(r.string('signature'), 'SSH signature blob');
  r.end();
  const sigName = sig.text('signature algorithm', 128);
  sig.string('signature');
  let webauthnOrigin: string | undefined;
  if (sigName.startsWith('sk-') || sigName.startsWith('webauthn-sk-')) {
    sig.byte('flags');
    sig.u32('counter');
  }
  if (sigName.startsWith('webauthn-sk-')) {
    // PROTOCOL.u2f "webauthn-sk-ecdsa-sha2-nistp256@openssh.com": origin, clientData and extensions follow.
    webauthnOrigin = sig.text('origin', 1024);
    sig.string('clientData');
    sig.string('extensions');
  }
  sig.end();
  const signerKey = signer.cert ? { ...signer, type: certifiedKeyType(signer.type) ?? signer.type } : signer;
  const d = describeSshSignature(sigName, signerKey, 'SSH signature');
  const messageHash = SSHSIG_HASHES[hashName];
  // The signed blob binds H(message); with no hash in the signature name (Ed25519), that message hash is the one that matters.
  if (!d.algorithm.hash && messageHash) d.algorithm.hash = messageHash;
  return {
    kind: 'signature',
    format: 'ssh',
    algorithm: d.algorithm,
    quantum: d.quantum,
    location: { offset },
    fingerprint: signer.fingerprint,
    details: {
      namespace,
      hashAlgorithm: hashName,
      signatureAlgorithm: sigName,
      signerKeyType: signer.type,
      ...(webauthnOrigin !== undefined ? { webauthn: true, webauthnOrigin } : {}),
      ...(signer.application !== undefined ? { application: signer.application } : {}),
    },
  };
}

// ───────────────────────────── RFC 4716 ─────────────────────────────

/** RFC 4716 §3: BEGIN line, headers ("Tag: value", "\" continues a line), base64 body, END line. */
function scanRfc4716(text: string, findings: Finding[], fail: Fail): void {
  let pos = 0;
  for (let n = 0; n < MAX_OBJECTS_PER_ARTIFACT; n++) {
    const start = text.indexOf(RFC4716_BEGIN, pos);
    if (start < 0) return;
    const stop = text.indexOf(RFC4716_END, start);
    if (stop < 0) {
      fail(new ParseError('no END line', start, 'truncated'), start, 'RFC 4716 public key');
      return;
    }
    pos = stop + RFC4716_END.length;
    try {
      const lines = text.slice(start + RFC4716_BEGIN.length, stop).split(/\r?\n/);
      const headers: Record<string, string> = {};
      let body = '';
      for (let i = 0; i < lines.length; i++) {
        let line = lines[i].trim();
        if (line === '') continue;
        if (line.includes(':')) {
          while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i].trim();
          const at = line.indexOf(':');
          headers[line.slice(0, at).trim().toLowerCase()] = line
            .slice(at + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
          continue;
        }
        body += line;
      }
      const blob = strictBase64(body, 'RFC 4716 body');
      const key = parseSshPublicKeyBlob(blob, 'RFC 4716 public key');
      const subject = headers.comment ?? headers.subject;
      findings.push(...findingsForKey(key, 'public-key', start, { context: 'rfc4716' }, subject?.slice(0, 256)));
    } catch (e) {
      fail(e, start, 'RFC 4716 public key');
    }
  }
}

function strictBase64(s: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || (s.includes('=') && s.length % 4 !== 0) || s.length % 4 === 1) {
    throw new ParseError(`${what} is not valid base64`);
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

// ───────────────────────────── one-line keys ─────────────────────────────

/**
 * `<type> <base64> [comment]`, anywhere in text. The type must not continue a longer word, the base64 must start with
 * "AAAA" (a uint32 length < 2^24, which every type string has) and end at a delimiter.
 */
const LINE_KEY = /(?<![A-Za-z0-9@._+/-])((?:ssh|ecdsa|sk)-[A-Za-z0-9@._-]{2,80})[ \t]+(AAAA[A-Za-z0-9+/]*={0,2})/g;

/** authorized_keys option names (sshd(8) "AUTHORIZED_KEYS FILE FORMAT"). */
const AUTHORIZED_KEYS_OPTIONS = new Set([
  'agent-forwarding',
  'cert-authority',
  'command',
  'environment',
  'expiry-time',
  'from',
  'no-agent-forwarding',
  'no-port-forwarding',
  'no-pty',
  'no-user-rc',
  'no-x11-forwarding',
  'permitlisten',
  'permitopen',
  'port-forwarding',
  'principals',
  'pty',
  'no-touch-required',
  'verify-required',
  'restrict',
  'tunnel',
  'user-rc',
  'x11-forwarding',
]);
const OPTION_LIST = /^[A-Za-z0-9-]+(?:="(?:[^"\\]|\\.)*")?(?:,[A-Za-z0-9-]+(?:="(?:[^"\\]|\\.)*")?)*$/;
const HOST_LIST = /^[A-Za-z0-9.*?![\]:,_|+/=%-]+$/;

function scanLineKeys(text: string, ctx: DetectContext, findings: Finding[], errors: ErrorEntry[], fail: Fail): void {
  LINE_KEY.lastIndex = 0;
  let count = 0;
  for (let m = LINE_KEY.exec(text); m && count < MAX_OBJECTS_PER_ARTIFACT; m = LINE_KEY.exec(text)) {
    const [, labelType, b64] = m;
    const offset = m.index;
    const after = m.index + m[0].length;
    const next = text[after];
    if (b64.length < MIN_LINE_KEY_BASE64) continue;
    // An ellipsis after the base64 marks an abbreviated key in prose, not a key.
    if (next === '.' || next === '\u2026') continue;
    count++;
    if (next !== undefined && !/[\s"'`,;<>()[\]{}\\|]/.test(next)) {
      fail(new ParseError(`base64 after ${labelType} is broken by ${JSON.stringify(next)}`), offset, `${labelType} key`);
      continue;
    }
    let key: SshKey;
    try {
      key = parseSshPublicKeyBlob(strictBase64(b64, `base64 after ${labelType}`), `${labelType} key`);
    } catch (e) {
      fail(e, offset, `${labelType} key`);
      continue;
    }
    const details: Record<string, unknown> = {};
    if (key.type !== labelType) {
      // The blob decides; the label is what a careless edit changes. OpenSSH itself rejects such a line.
      errors.push({ code: 'malformed', message: `key at offset ${offset}: label says ${labelType}, blob says ${key.type}`, offset });
      details.labelType = labelType;
    }
    // What precedes the key on its line says which file format it is in; a line longer than that is not one.
    const window = text.slice(Math.max(0, offset - MAX_LINE_PREFIX), offset);
    const nl = window.lastIndexOf('\n');
    const where = nl < 0 && offset > MAX_LINE_PREFIX ? { details: { context: 'embedded' } } : classifyLine(window.slice(nl + 1).trim(), ctx.name);
    Object.assign(details, where.details);
    let subject = where.subject;
    if (next === ' ' || next === '\t') {
      const tail = text.slice(after, after + 1024);
      const comment = tail
        .split('\n')[0]
        .split(/["'\\]/)[0]
        .trim()
        .slice(0, 256);
      if (comment && !subject) subject = comment;
    }
    findings.push(...findingsForKey(key, 'public-key', offset, details, subject));
  }
}

/** Which file format a key line belongs to, from what precedes the key type on its line. */
function classifyLine(prefix: string, name: string): { details: Record<string, unknown>; subject?: string } {
  if (prefix === '') return { details: { context: /authorized_keys/i.test(name) ? 'authorized_keys' : 'public-key' } };
  const marker = prefix.match(/^@(cert-authority|revoked)\s+(\S+)$/);
  if (marker) return knownHosts(marker[2], marker[1]);
  if (OPTION_LIST.test(prefix)) {
    const names = prefix.match(/(?:^|,)([A-Za-z0-9-]+)/g)?.map((s) => s.replace(/^,/, '').toLowerCase()) ?? [];
    if (names.length > 0 && names.every((n) => AUTHORIZED_KEYS_OPTIONS.has(n))) {
      return { details: { context: 'authorized_keys', options: names, ...(names.includes('cert-authority') ? { certAuthority: true } : {}) } };
    }
  }
  if (HOST_LIST.test(prefix) && /[A-Za-z0-9*]/.test(prefix)) return knownHosts(prefix);
  return { details: { context: 'embedded' } };
}

function knownHosts(hosts: string, marker?: string): { details: Record<string, unknown>; subject?: string } {
  // OpenSSH HashKnownHosts: "|1|" base64(salt) "|" base64(HMAC-SHA1(salt, host)).
  const hashed = hosts.startsWith('|1|');
  const details: Record<string, unknown> = { context: 'known_hosts', hashedHost: hashed };
  if (marker === 'cert-authority') details.certAuthority = true;
  if (marker === 'revoked') details.revoked = true;
  return hashed ? { details } : { details, subject: hosts.slice(0, 256) };
}
