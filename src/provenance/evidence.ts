/**
 * Evidence documents: what `--evidence PATH` (a file, or a directory of them) holds, and shelflife's hybrid bundles
 * beside a model. Each document is a Sigstore bundle, a bare DSSE envelope, a shelflife hybrid bundle, or JSON Lines
 * of those (`*.intoto.jsonl`: in-toto bundles of several statements are not authenticated as a whole, so every line
 * is checked on its own). Each statement comes out with the check of its own signature (verify.ts). Unreadable
 * documents are reported, never dropped silently.
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { errorMessage, ParseError, ShelflifeError, UsageError } from '../errors.js';
import { MAX_TEXT_PARSE_BYTES } from '../limits.js';
import { readSigningCertificate } from '../resign/cert.js';
import { BUNDLE_MEDIA_TYPE } from '../resign/dsse.js';
import { fileUri } from '../sources/fs.js';
import { parseDsseEnvelope, parseStatement, type DsseEnvelope, type Statement } from './intoto.js';
import { asObject, decodeBase64, isSigstoreBundle, parseSigstoreBundle, type SigstoreBundle } from './sigstore-bundle.js';
import type { Trust } from './trust.js';
import { checkSignature, type SignatureCheck, type SignedDocument } from './verify.js';

/** Documents read from one --evidence directory. */
export const MAX_EVIDENCE_FILES = 10_000;

export interface EvidenceStatement {
  /** Where it came from: file URI, with `#line=N` for JSON Lines. */
  uri: string;
  statement: Statement;
  check: SignatureCheck;
  document: SignedDocument;
}

export interface EvidenceProblem {
  uri: string;
  message: string;
}

export interface EvidenceSet {
  statements: EvidenceStatement[];
  problems: EvidenceProblem[];
}

/** Read every --evidence path (files, or directories walked one level deep and below, bounded). */
export async function loadEvidence(paths: readonly string[], trust: Trust): Promise<EvidenceSet> {
  const out: EvidenceSet = { statements: [], problems: [] };
  const files: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    let st;
    try {
      st = await stat(abs);
    } catch (e) {
      throw new UsageError(`--evidence: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`, { uri: p });
    }
    if (st.isDirectory()) await walk(abs, files, 0);
    else files.push(abs);
  }
  for (const f of files.slice(0, MAX_EVIDENCE_FILES)) {
    let bytes: Uint8Array;
    try {
      const s = await stat(f);
      if (s.size > MAX_TEXT_PARSE_BYTES) {
        out.problems.push({ uri: fileUri(f), message: `larger than ${MAX_TEXT_PARSE_BYTES} bytes; not read as evidence` });
        continue;
      }
      bytes = new Uint8Array(await readFile(f));
    } catch (e) {
      out.problems.push({ uri: fileUri(f), message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}` });
      continue;
    }
    const r = readEvidenceDocument(bytes, fileUri(f), trust);
    out.statements.push(...r.statements);
    out.problems.push(...r.problems);
  }
  if (files.length > MAX_EVIDENCE_FILES)
    out.problems.push({ uri: fileUri(resolve(paths[0])), message: `more than ${MAX_EVIDENCE_FILES} files; the rest were not read` });
  return out;
}

async function walk(dir: string, files: string[], depth: number): Promise<void> {
  if (depth > 8 || files.length > MAX_EVIDENCE_FILES) return;
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (e.isDirectory()) await walk(join(dir, e.name), files, depth + 1);
    else if (e.isFile() && /\.(json|jsonl|dsse|bundle|sigstore|sig|slsa|att)$/i.test(e.name)) files.push(join(dir, e.name));
  }
}

/** Every signed statement in one document (a JSON object or JSON Lines). */
export function readEvidenceDocument(bytes: Uint8Array, uri: string, trust: Trust): EvidenceSet {
  const out: EvidenceSet = { statements: [], problems: [] };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    out.problems.push({ uri, message: 'not UTF-8 text; not an attestation' });
    return out;
  }
  let docs: { value: unknown; uri: string }[];
  try {
    docs = [{ value: JSON.parse(text), uri }];
  } catch {
    docs = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length && docs.length < 10_000; i++) {
      if (!lines[i].trim()) continue;
      try {
        docs.push({ value: JSON.parse(lines[i]), uri: `${uri}#line=${i + 1}` });
      } catch (e) {
        out.problems.push({ uri: `${uri}#line=${i + 1}`, message: `not JSON: ${errorMessage(e)}` });
      }
    }
  }
  for (const d of docs) {
    try {
      const signed = toSignedDocument(d.value, d.uri);
      const statement = parseStatement(signed.envelope, d.uri);
      out.statements.push({ uri: d.uri, statement, check: checkSignature(signed, trust), document: signed });
    } catch (e) {
      if (!(e instanceof ShelflifeError)) throw e;
      out.problems.push({ uri: d.uri, message: e.message.startsWith(d.uri) ? e.message.slice(d.uri.length + 2) : e.message });
    }
  }
  return out;
}

/** A Sigstore bundle, a shelflife hybrid bundle or a bare DSSE envelope, as a signed document. */
export function toSignedDocument(v: unknown, what: string): SignedDocument {
  const o = asObject(v);
  if (!o) throw new ParseError(`${what}: not a JSON object`);
  if (isSigstoreBundle(o)) {
    const bundle: SigstoreBundle = parseSigstoreBundle(o, what);
    if (!bundle.dsseEnvelope) throw new ParseError(`${what}: a Sigstore message signature, not an attestation`);
    return { bundle, envelope: parseDsseEnvelope(bundle.dsseEnvelope, what) };
  }
  if (o.mediaType === BUNDLE_MEDIA_TYPE) {
    const env = asObject(o.dsseEnvelope);
    if (!env) throw new ParseError(`${what}: hybrid bundle without a dsseEnvelope`);
    const envelope: DsseEnvelope = parseDsseEnvelope(env, what);
    return { envelope, hybridCertificate: readSigningCertificate(decodeBase64(o.certificate, `${what}: certificate`), what) };
  }
  if (typeof o.payloadType === 'string') return { envelope: parseDsseEnvelope(o, what) };
  throw new ParseError(`${what}: neither a Sigstore bundle nor a DSSE envelope`);
}
