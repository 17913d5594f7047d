/**
 * LVFS-style firmware remotes (fwupd metadata, https://lvfs.readthedocs.io and fwupd's remotes.d): the AppStream
 * metadata `firmware.xml(.gz|.xz|.zst)` and its `.jcat` (libjcat: gzipped JSON whose items hold PKCS#7 and GPG
 * blobs, plus SHA-256/SHA-1 checksums); each `<release>` of each firmware component is an artifact named by its
 * `<location>`, identified by the `<checksum target="container" type="sha256">` the metadata gives and covered by the
 * metadata's signatures. By default each cabinet (MS-CAB, src/containers/cab.ts) up to MAX_CABINET_FETCH bytes is
 * fetched and opened to read its inner `.jcat`, which signs the firmware payload: the release is then `signed`. A jcat
 * item signs the member its id names, so its signatures are handed over with that member's bytes (`ArtifactRef.signs`)
 * and checked over them, not over the cabinet.
 * `--fetch none` fetches no cabinet; `--fetch all` hands the cabinets to the engine, which opens them as containers.
 * PKCS#7 blobs are named by parsing the CMS (src/detectors/cms.ts through the detector table), GPG blobs as OpenPGP.
 * @module
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { cabinetFiles } from '../containers/cab.js';
import { ShelflifeError, UsageError } from '../errors.js';
import { MAX_SMALL_DOCUMENT_BYTES, type HttpClient } from '../net/http.js';
import { inflateChunks } from '../net/inflate.js';
import { redactUrl } from '../net/secrets.js';
import { errorEntry, fetchMode, listedRef, releaseClient, type FetchMode, type ReleaseSourceOptions } from './_release.js';
import { hashId } from './hashes.js';
import { countRecords, decodeChunks, tokenizeStream, tokens, type MarkupToken } from './markup.js';
import type { SourceOptions } from './index.js';
import { bytesRef, type ArtifactRef, type IndexChain, type RelatedInfo, type Source, type SourceProblem } from './types.js';

/** Cabinets larger than this are not fetched by default (firmware cabinets are mostly well under it). */
export const MAX_CABINET_FETCH = 64 * 1024 * 1024;
const MAX_JCAT_JSON = 16 * 1024 * 1024;
const MAX_RELEASES = 1_000_000;
/** Metadata (compressed) larger than this is refused. */
const MAX_METADATA_BYTES = 128 * 1024 * 1024;

/** libjcat's JcatBlobKind (libjcat/jcat-common.h). */
export const JCAT_BLOB_KIND: Record<number, string> = {
  0: 'unknown',
  1: 'sha256',
  2: 'gpg',
  3: 'pkcs7',
  4: 'sha1',
  5: 'bt-manifest',
  6: 'bt-checkpoint',
  7: 'bt-inclusion-proof',
  8: 'bt-verifier',
  9: 'ed25519',
  10: 'sha512',
  11: 'bt-logindex',
};
/** JcatBlobFlags: IS_UTF8 (1) means `Data` is text; otherwise base64. */
const JCAT_FLAG_IS_UTF8 = 1;

export function lvfsSource(target: string, options: SourceOptions): Source {
  return new LvfsSource(target, options as ReleaseSourceOptions);
}

export interface JcatBlob {
  kind: string;
  data: Uint8Array;
}

/** Items of a .jcat file: id → blobs (libjcat's JSON: `{JcatVersionMajor, Items: [{Id, Blobs: [{Kind, Flags, Data}]}]}`). */
export function parseJcat(bytes: Uint8Array, what: string): Map<string, JcatBlob[]> {
  let json: Uint8Array = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      json = gunzipSync(bytes, { maxOutputLength: MAX_JCAT_JSON });
    } catch (e) {
      throw new ShelflifeError('malformed', `not a gzip-compressed jcat file: ${(e as Error).message}`, { uri: what });
    }
  }
  let doc: { Items?: { Id?: unknown; Blobs?: { Kind?: unknown; Flags?: unknown; Data?: unknown }[] }[] };
  try {
    doc = JSON.parse(Buffer.from(json).toString('utf8'));
  } catch {
    throw new ShelflifeError('malformed', 'jcat is not JSON', { uri: what });
  }
  const out = new Map<string, JcatBlob[]>();
  if (!Array.isArray(doc?.Items)) throw new ShelflifeError('malformed', 'jcat has no Items', { uri: what });
  for (const item of doc.Items.slice(0, 10_000)) {
    if (typeof item?.Id !== 'string' || !Array.isArray(item.Blobs)) continue;
    const blobs: JcatBlob[] = [];
    for (const b of item.Blobs.slice(0, 256)) {
      if (typeof b?.Kind !== 'number' || typeof b.Data !== 'string') continue;
      const text = (Number(b.Flags) & JCAT_FLAG_IS_UTF8) !== 0;
      blobs.push({
        kind: JCAT_BLOB_KIND[b.Kind] ?? `kind-${b.Kind}`,
        data: new Uint8Array(text ? Buffer.from(b.Data, 'utf8') : Buffer.from(b.Data, 'base64')),
      });
    }
    out.set(item.Id, blobs);
  }
  return out;
}

/**
 * The signature blobs of one jcat item as objects for the engine (PKCS#7 through the CMS detector, GPG through
 * OpenPGP: both claim them by their bytes); `member` names them in findings.
 */
export function jcatObjects(blobs: JcatBlob[], uri: string, member: string, signs?: ArtifactRef['signs']): ArtifactRef[] {
  return blobs.flatMap((b, i) => (b.kind === 'pkcs7' || b.kind === 'gpg' ? [bytesRef(`${uri}#${b.kind}[${i}]`, member, b.data, signs ? { signs } : {})] : []));
}

/**
 * What a cabinet's jcat item signs: the member its id names (fwupd signs each file of the cabinet, `firmware.bin`,
 * by its name within the cabinet; `jcat-tool --basename` ids are base names), with the member's bytes to check the
 * item's signatures over, or why they cannot be.
 */
function signedMember(id: string, members: ReturnType<typeof cabinetFiles>, file: string): NonNullable<ArtifactRef['signs']> {
  const base = (n: string) => n.slice(n.replace(/\\/g, '/').lastIndexOf('/') + 1);
  const m = members.find((x) => x.name === id) ?? members.find((x) => base(x.name) === base(id));
  const name = `${file}!/${m?.name ?? id}`;
  if (!m) return { name, reason: `the cabinet holds no member ${id}, which its jcat item names` };
  return m.bytes ? { name, bytes: m.bytes } : { name, reason: `the member it signs could not be read: ${m.problem?.message ?? 'unreadable'}` };
}

export interface LvfsRelease {
  component: string;
  version?: string;
  location: string;
  checksums: Map<string, string>; // hash id → hex (target="container")
  size?: number;
}

/**
 * `<component type="firmware">` → `<release>`s with their container checksums, download size and location, token by
 * token (the component's own `<id>` is the one directly under `<component>`, not a `<requires><id>`).
 */
export class FirmwareReader {
  private readonly stack: string[] = [];
  private component = '';
  private release?: { version?: string; location?: string; checksums: Map<string, string>; size?: number };
  private field?: { name: 'id' | 'location' | 'checksum' | 'size'; hash?: string };
  private text = '';

  take(t: MarkupToken): LvfsRelease | undefined {
    if (t.type === 'text') {
      if (this.field) this.text += t.text;
      return undefined;
    }
    if (t.type === 'open') {
      const parent = this.stack[this.stack.length - 1];
      this.stack.push(t.name);
      if (this.stack.length > 64) this.stack.splice(0, this.stack.length - 64);
      if (t.name === 'component') this.component = '';
      else if (t.name === 'id' && parent === 'component') this.field = { name: 'id' };
      else if (t.name === 'release') this.release = { version: t.attrs.version, checksums: new Map() };
      else if (this.release && t.name === 'location') this.field = { name: 'location' };
      else if (this.release && t.name === 'checksum' && t.attrs.target === 'container') this.field = { name: 'checksum', hash: hashId(t.attrs.type ?? '') };
      else if (this.release && t.name === 'size' && t.attrs.type === 'download') this.field = { name: 'size' };
      if (this.field && this.stack[this.stack.length - 1] === t.name) this.text = '';
      return undefined;
    }
    // A close: pop to the matching open (HTML-style leniency for a missing close tag).
    const at = this.stack.lastIndexOf(t.name);
    if (at >= 0) this.stack.length = at;
    const f = this.field;
    if (f && t.name === f.name) {
      const v = this.text.trim();
      if (f.name === 'id') this.component = v;
      else if (this.release && f.name === 'location') this.release.location ??= v;
      else if (this.release && f.name === 'checksum' && f.hash && /^[0-9a-fA-F]+$/.test(v)) this.release.checksums.set(f.hash, v.toLowerCase());
      else if (this.release && f.name === 'size' && /^\d+$/.test(v)) this.release.size = Number(v);
      this.field = undefined;
    }
    if (t.name !== 'release' || !this.release) return undefined;
    const r = this.release;
    this.release = undefined;
    if (!r.location) return undefined;
    return {
      component: this.component,
      version: r.version,
      location: r.location,
      checksums: r.checksums,
      ...(r.size !== undefined && Number.isSafeInteger(r.size) ? { size: r.size } : {}),
    };
  }
}

/** The releases of a whole firmware.xml. */
export function parseFirmwareXml(xml: string): LvfsRelease[] {
  const r = new FirmwareReader();
  const count = countRecords(MAX_RELEASES, 'firmware metadata');
  const out: LvfsRelease[] = [];
  for (const t of tokens(xml)) {
    const x = r.take(t);
    if (x) {
      count();
      out.push(x);
    }
  }
  return out;
}

class LvfsSource implements Source {
  readonly target: string;
  private readonly url: string;
  private readonly http: HttpClient;
  private readonly owned: boolean;
  private readonly fetch: FetchMode;

  constructor(target: string, options: ReleaseSourceOptions) {
    this.target = redactUrl(target);
    const c = releaseClient(target.replace(/^lvfs\+/i, ''), options);
    this.url = c.url;
    if (!/^https?:\/\/[^/]+\/.+/i.test(this.url)) throw new UsageError('an LVFS target is lvfs+https://host/path/firmware.xml(.gz|.zst)', { uri: this.target });
    this.http = c.http;
    this.owned = c.owned;
    this.fetch = fetchMode(options.fetch, 'headers');
  }

  async close(): Promise<void> {
    if (this.owned) await this.http.close();
  }

  async *walk(): AsyncIterable<ArtifactRef | SourceProblem> {
    const name = new URL(this.url).pathname.split('/').pop()!;
    let metadata: Uint8Array;
    // The metadata's signatures: the PKCS#7 and GPG blobs of its .jcat (the engine reads them).
    const signatures: ArtifactRef[] = [];
    const errs: NonNullable<RelatedInfo['errors']> = [];
    try {
      metadata = (await this.http.get(this.url, { limit: MAX_METADATA_BYTES }))!.bytes;
      const jcat = await this.http.get(`${this.url}.jcat`, { optional: true, limit: MAX_SMALL_DOCUMENT_BYTES });
      if (jcat) {
        try {
          const items = parseJcat(jcat.bytes, `${this.url}.jcat`);
          const blobs = items.get(name) ?? [...items.values()][0] ?? [];
          const sha256 = blobs.find((b) => b.kind === 'sha256');
          const got = createHash('sha256').update(metadata).digest('hex');
          if (sha256 && Buffer.from(sha256.data).toString('utf8').trim().toLowerCase() !== got)
            errs.push({ code: 'malformed', message: `${this.url}.jcat: its SHA-256 of ${name} does not match the metadata (${got})` });
          signatures.push(...jcatObjects(blobs, `${this.url}.jcat`, `${name}.jcat`));
        } catch (e) {
          errs.push(errorEntry(e, `${this.url}.jcat`));
        }
      }
    } catch (e) {
      yield { uri: this.url, ...errorEntry(e, this.url) };
      return;
    }
    yield bytesRef(this.url, name, metadata, {
      reusable: false,
      related: async () => ({
        attached: signatures,
        errors: errs,
        vouching: { unsigned: `no PKCS#7 or GPG signature in ${name}.jcat; every release it lists is index-unsigned` },
      }),
    });
    // Decompressed and parsed as it streams: one release is held at a time, whatever the metadata expands to.
    const seen = new Set<string>();
    try {
      const reader = new FirmwareReader();
      const count = countRecords(MAX_RELEASES, this.url);
      for await (const t of tokenizeStream(decodeChunks(inflateChunks(metadata, this.url)))) {
        const r = reader.take(t);
        if (!r) continue;
        count();
        let url: string;
        try {
          url = new URL(r.location, this.url).href;
        } catch {
          continue; // a location that is not a URL names nothing to scan
        }
        if (!/^https?:/.test(url) || seen.has(url)) continue;
        seen.add(url);
        yield this.releaseRef(url, name, r, signatures);
      }
    } catch (e) {
      // Recorded on the metadata's artifact (scan() merges a problem into the artifact of its URI).
      yield { uri: this.url, ...errorEntry(e, this.url) };
    }
  }

  private releaseRef(url: string, index: string, r: LvfsRelease, signatures: ArtifactRef[]): ArtifactRef {
    const best = ['SHA-512', 'SHA-256', 'SHA-1', 'MD5'].find((h) => r.checksums.has(h));
    const errors: NonNullable<RelatedInfo['errors']> = [];
    if (best === 'SHA-1' || best === 'MD5')
      errors.push({ code: 'malformed', message: `${index} gives only ${best} for this cabinet; a collision-broken hash breaks the signed chain`, uri: url });
    const file = url.split('/').pop()!;
    const chain: IndexChain = { index, signatures, hashes: [best] };
    return listedRef(
      {
        url,
        name: file,
        ...(r.size !== undefined ? { size: r.size } : {}),
        ...(r.checksums.get('SHA-256') ? { digest: `sha256:${r.checksums.get('SHA-256')}` } : {}),
        annotations: { 'release.index': index, 'lvfs.component': r.component, ...(r.version ? { 'lvfs.version': r.version } : {}) },
        errors,
        chains: [chain],
        ...(this.fetch === 'headers' ? { extra: () => this.cabinetSignatures(url, file, r) } : {}),
      },
      this.http,
      this.fetch,
    );
  }

  /** Fetch the cabinet (up to the cap), check it against the metadata, and hand its inner .jcat's blobs to the engine. */
  private async cabinetSignatures(url: string, file: string, r: LvfsRelease): Promise<Partial<RelatedInfo>> {
    if (r.size !== undefined && r.size > MAX_CABINET_FETCH)
      return {
        errors: [
          {
            code: 'limit-size',
            message: `cabinet of ${r.size} bytes is above the ${MAX_CABINET_FETCH}-byte fetch cap; not opened (--fetch all reads it)`,
            uri: url,
          },
        ],
      };
    const doc = (await this.http.get(url, { limit: MAX_CABINET_FETCH }))!;
    const sha = r.checksums.get('SHA-256');
    if (sha && createHash('sha256').update(doc.bytes).digest('hex') !== sha)
      return { errors: [{ code: 'malformed', message: `cabinet SHA-256 does not match the metadata's ${sha}; not opened`, uri: url }] };
    const attached: ArtifactRef[] = [];
    const errors: NonNullable<RelatedInfo['errors']> = [];
    const members = cabinetFiles(doc.bytes, url);
    for (const m of members) {
      if (!m.name.endsWith('.jcat')) continue;
      if (!m.bytes) {
        errors.push({
          code: m.problem?.code === 'unsupported' ? 'unsupported' : 'malformed',
          message: m.problem?.message ?? 'unreadable',
          uri: `${url}!/${m.name}`,
        });
        continue;
      }
      const jcat = `${url}!/${m.name}`;
      try {
        for (const [id, blobs] of parseJcat(m.bytes, jcat)) {
          const signs = signedMember(id, members, file);
          const sha256 = blobs.find((b) => b.kind === 'sha256');
          const got = signs.bytes && createHash('sha256').update(signs.bytes).digest('hex');
          if (got && sha256 && Buffer.from(sha256.data).toString('utf8').trim().toLowerCase() !== got)
            errors.push({ code: 'malformed', message: `its SHA-256 of ${id} does not match the cabinet's member (${got})`, uri: jcat });
          attached.push(...jcatObjects(blobs, jcat, `${file}!/${m.name}`, signs));
        }
      } catch (e) {
        errors.push(errorEntry(e, jcat));
      }
    }
    return { attached, errors };
  }
}
