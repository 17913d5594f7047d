/**
 * Rekor transparency-log entries (rekor openapi.yaml LogEntry: `{<uuid>: {body, integratedTime, logID, logIndex,
 * verification: {signedEntryTimestamp, inclusionProof}}}`, as `rekor-cli get --format json` and the REST API return
 * them, one entry or a map of them). The body is base64 JSON of one entry kind (pkg/types/*): `hashedrekord`
 * (signature + base64 PEM key or certificate), `dsse` (signatures with base64 PEM verifiers), `intoto` v0.0.2
 * (envelope signatures with base64 PEM keys) and `rekord` (x509 signatures, and pgp, ssh and minisign ones read by
 * those formats' detectors). Nested encodings are unwrapped by
 * _nested.ts. Findings: every key and certificate, every signature (sized by its own key), and the log's signed entry
 * timestamp, named by the log id (the SHA-256 of the log key's SPKI) for the scan's join step to size from a trusted
 * root.
 * @module
 */
import { catalogue, type Described } from '../catalogue/index.js';
import { rethrowUnlessParseError } from '../errors.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { detectEd25519Blobs } from './minisign.js';
import { detectOpenPgp } from './openpgp.js';
import { detectSsh } from './ssh.js';
import { describeSpki } from '../pkix/algorithm.js';
import { certificateFinding, parseCertificate, sha256Hex } from '../pkix/certificate.js';
import { parseDer } from '../pkix/der.js';
import { describeSignatureShape } from './dsse.js';
import { arr, base64Bytes, isObject, locator, readJsonDocuments, str, type JsonObject } from './_json.js';
import { decodeNested } from './_nested.js';
import type { Detector, DetectResult } from './types.js';

const KINDS = new Set(['hashedrekord', 'dsse', 'intoto', 'rekord']);
const HASHES: Record<string, string> = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };

export const rekorDetector: Detector = {
  format: 'rekor',
  description: 'Rekor transparency-log entries (hashedrekord, dsse, intoto, rekord): keys, certificates, signatures and signed entry timestamps',
  claims: { names: ['*.rekor.json', '*.tlog.json'], contains: ['"logIndex"', '"apiVersion"'] },
  detect: detectRekor,
};

interface Ctx {
  findings: Finding[];
  errors: ErrorEntry[];
  at: (value: string | undefined) => number;
}

function detectRekor(bytes: Uint8Array, dctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const locate = locator(bytes);
  for (const doc of readJsonDocuments(bytes, dctx)) {
    const c: Ctx = { findings, errors, at: (v) => locate(v, doc.offset) };
    const v = doc.value;
    if (isEntryBody(v)) {
      readBody(v, 'body', c);
      continue;
    }
    // One LogEntry, or the API's map of UUID → LogEntry.
    const entries = typeof v.body === 'string' ? [['', v] as const] : Object.entries(v).filter(([, e]) => isObject(e) && typeof e.body === 'string');
    for (const [uuid, e] of entries.slice(0, MAX_OBJECTS_PER_ARTIFACT)) readEntry(e as JsonObject, uuid ? `${uuid}.` : '', c);
  }
  return { findings, errors };
}

function isEntryBody(v: JsonObject): boolean {
  return typeof v.kind === 'string' && KINDS.has(v.kind) && typeof v.apiVersion === 'string' && isObject(v.spec);
}

function readEntry(e: JsonObject, prefix: string, c: Ctx): void {
  const bodyText = str(e.body);
  try {
    const body = decodeNested(bodyText);
    if (body?.kind !== 'json' || !isEntryBody(body.value)) {
      c.errors.push({ code: 'malformed', message: `${prefix}body is not a Rekor entry body`, offset: c.at(bodyText) });
      return;
    }
    readBody(body.value, `${prefix}body`, c, c.at(bodyText));
  } catch (err) {
    rethrowUnlessParseError(err);
    c.errors.push({ code: 'malformed', message: `${prefix}body: ${err.message}`, offset: c.at(bodyText) });
  }
  // The log's promise to include the entry (rekor pkg/api/entries.go): an ECDSA signature by the log key.
  const set = isObject(e.verification) ? str(e.verification.signedEntryTimestamp) : undefined;
  const sig = base64Bytes(set);
  if (sig?.length) {
    const shape = describeSignatureShape(sig);
    const d = shape?.described ?? catalogue().resolve(undefined);
    c.findings.push({
      kind: 'signature',
      format: 'rekor',
      algorithm: d.algorithm,
      quantum: d.quantum,
      location: { offset: c.at(set), path: `${prefix}verification.signedEntryTimestamp` },
      ...(str(e.logID) ? { fingerprint: str(e.logID) } : {}),
      ...(typeof e.integratedTime === 'number' ? { created: new Date(e.integratedTime * 1000).toISOString() } : {}),
      details: { role: 'signed-entry-timestamp', ...(typeof e.logIndex === 'number' ? { logIndex: e.logIndex } : {}), signatureBytes: sig.length },
    });
  }
}

/** The verification material and signatures of one entry body, by kind. */
function readBody(body: JsonObject, path: string, c: Ctx, offset?: number): void {
  const kind = str(body.kind)!;
  const spec = body.spec as JsonObject;
  const at = (v: string | undefined) => offset ?? c.at(v);
  const pairs: { sig?: string; key?: string; where: string }[] = [];
  let hash: string | undefined;
  if (kind === 'hashedrekord' || kind === 'rekord') {
    const s = isObject(spec.signature) ? spec.signature : {};
    const format = str(s.format);
    if (kind === 'rekord' && format && format !== 'x509') {
      if (!(format in FOREIGN)) {
        c.errors.push({ code: 'unsupported', message: `${path}: rekord signature format ${format} is not read`, offset: at(undefined) });
        return;
      }
      const key = isObject(s.publicKey) ? str(s.publicKey.content) : undefined;
      readForeign(format as keyof typeof FOREIGN, 'publicKey', key, `${path}.spec.signature.publicKey`, at(key), c);
      readForeign(format as keyof typeof FOREIGN, 'signature', str(s.content), `${path}.spec.signature.content`, at(str(s.content)), c);
      return;
    }
    pairs.push({ sig: str(s.content), key: isObject(s.publicKey) ? str(s.publicKey.content) : undefined, where: `${path}.spec.signature` });
    const data = isObject(spec.data) && isObject(spec.data.hash) ? spec.data.hash : {};
    hash = HASHES[str(data.algorithm) ?? ''];
  } else if (kind === 'dsse') {
    arr(spec.signatures).forEach((s, i) => isObject(s) && pairs.push({ sig: str(s.signature), key: str(s.verifier), where: `${path}.spec.signatures[${i}]` }));
  } else {
    const env = isObject(spec.content) && isObject(spec.content.envelope) ? spec.content.envelope : {};
    arr(env.signatures).forEach(
      (s, i) => isObject(s) && pairs.push({ sig: str(s.sig), key: str(s.publicKey), where: `${path}.spec.content.envelope.signatures[${i}]` }),
    );
  }
  for (const p of pairs.slice(0, MAX_OBJECTS_PER_ARTIFACT)) {
    let key: { described: Described; from: 'certificate' | 'key'; fingerprint: string } | undefined;
    try {
      key = readVerifier(p.key, p.where, at(p.key), c);
    } catch (err) {
      rethrowUnlessParseError(err);
      c.errors.push({ code: 'malformed', message: `${p.where}: verifier does not parse: ${err.message}`, offset: at(p.key) });
    }
    // Inside a base64 body, a DSSE/intoto signature is itself base64 of base64 (the envelope's own encoding).
    let sig = base64Bytes(p.sig);
    if (sig && (kind === 'intoto' || kind === 'dsse')) sig = base64Bytes(Buffer.from(sig).toString('latin1')) ?? sig;
    if (!sig?.length) continue;
    const d = key?.described ?? describeSignatureShape(sig)?.described ?? catalogue().resolve(undefined);
    const { hash: keyHash, ...algorithm } = d.algorithm;
    const signatureHash = hash ?? (key?.from === 'certificate' ? undefined : keyHash);
    c.findings.push({
      kind: 'signature',
      format: 'rekor',
      algorithm: { ...algorithm, ...(signatureHash ? { hash: signatureHash } : {}) },
      quantum: d.quantum,
      location: { offset: at(p.sig), path: p.where },
      ...(key ? { fingerprint: key.fingerprint } : {}),
      details: { entryKind: kind, signatureBytes: sig.length, ...(key && d.algorithm.parameterKnown !== false ? { parameterFrom: key.from } : {}) },
    });
  }
}

/**
 * `rekord` entries whose signature is not x509 (rekor pkg/pki): the key and signature in their own formats, read by
 * the detectors of those formats. pgp: armored or binary OpenPGP (a key and a detached signature); ssh: an SSHSIG
 * (`-----BEGIN SSH SIGNATURE-----`) and an OpenSSH public key line; minisign: a `.minisig` file and a public key, as a
 * file or as its bare base64 line (rekor pkg/pki/minisign takes both).
 */
const FOREIGN = {
  pgp: { signature: 'rekord.sig', publicKey: 'rekord.asc', read: detectOpenPgp },
  ssh: { signature: 'rekord.sig', publicKey: 'rekord.pub', read: detectSsh },
  minisign: { signature: 'rekord.minisig', publicKey: 'minisign.pub', read: (b: Uint8Array, x: DetectContext) => detectEd25519Blobs('minisign', b, x) },
} as const;

/** minisign's own comment line, before a bare base64 key line (minisign -R writes the same). */
const MINISIGN_KEY_COMMENT = 'untrusted comment: minisign public key\n';

function readForeign(format: keyof typeof FOREIGN, part: 'signature' | 'publicKey', value: string | undefined, where: string, offset: number, c: Ctx): void {
  let bytes = base64Bytes(value);
  if (!bytes?.length) {
    c.errors.push({ code: 'malformed', message: `${where} is not base64`, offset });
    return;
  }
  const text = Buffer.from(bytes).toString('latin1').trim();
  if (format === 'minisign' && part === 'publicKey' && /^[A-Za-z0-9+/]{40,60}={0,2}$/.test(text))
    bytes = new TextEncoder().encode(`${MINISIGN_KEY_COMMENT}${text}\n`);
  const spec = FOREIGN[format];
  const r = spec.read(bytes, { name: spec[part], uri: '', size: bytes.length, baseOffset: 0, whole: true });
  const found = Array.isArray(r) ? { findings: r, errors: [] } : r;
  for (const e of found.errors ?? []) c.errors.push({ ...e, message: `${where}: ${e.message}`, offset });
  if (!found.findings.length && !found.errors?.length)
    c.errors.push({ code: 'malformed', message: `${where} holds no ${format} ${part === 'publicKey' ? 'key' : 'signature'}`, offset });
  for (const f of found.findings.slice(0, MAX_OBJECTS_PER_ARTIFACT)) {
    // The bytes live in decoded base64, where no file offset points: the path says where (and keeps two packets of
    // one key file apart in the finding identity, src/identity.ts).
    f.location = { path: f.location.path ? `${where}.${f.location.path}` : where };
    f.details = { ...f.details, entryKind: 'rekord', signatureFormat: format };
    c.findings.push(f);
  }
}

/** A base64 PEM (or DER) key or certificate: reported, and returned to size the signature it verifies. */
function readVerifier(
  value: string | undefined,
  where: string,
  offset: number,
  c: Ctx,
): { described: Described; from: 'certificate' | 'key'; fingerprint: string } | undefined {
  const nested = decodeNested(value);
  if (!nested || nested.kind === 'json') return undefined;
  const blocks = nested.kind === 'pem' ? nested.blocks.map((b) => ({ label: b.label, der: b.der })) : [{ label: '', der: nested.bytes }];
  let first: { described: Described; from: 'certificate' | 'key'; fingerprint: string } | undefined;
  blocks.slice(0, MAX_OBJECTS_PER_ARTIFACT).forEach((b, i) => {
    const node = parseDer(b.der);
    if (b.label === 'PUBLIC KEY' || (b.label === '' && node.children().length === 2 && node.children()[1].tag === 0x03)) {
      const key = describeSpki(node);
      const fingerprint = sha256Hex(node.encoded);
      c.findings.push({
        kind: 'public-key',
        format: 'rekor',
        algorithm: key.algorithm,
        quantum: key.quantum,
        location: { offset, path: `${where}.key` },
        fingerprint,
        details: {},
      });
      first ??= { described: key, from: 'key', fingerprint };
      return;
    }
    const cert = parseCertificate(node);
    c.findings.push(certificateFinding(cert, 'rekor', offset, `${where}.certificate[${i}]`));
    first ??= { described: cert.key, from: 'certificate', fingerprint: sha256Hex(cert.node.encoded) };
  });
  return first;
}
