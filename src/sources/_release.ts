/**
 * What the release-store sources (apt, yum, checksum directories, LVFS) share: reading the signatures on an index
 * through the detectors (never guessing from file names), the chain of custody from a signed index down to each
 * artifact it lists, and the coverage each artifact ends with (`signed` | `covered` | `unsigned` | `index-unsigned`).
 * The chain's signatures are reported as findings on every covered artifact (location.member names the index), and
 * the weakest hash on the chain replaces the signature's own when it is weaker, so the scoring policies that flag
 * collision-broken hashes (rules/policies/classical-weakness.yaml) apply to an MD5/SHA-1-only list as they should.
 * @module
 */
import { runDetectors } from '../detectors/index.js';
import type { ArtifactCoverage, ErrorEntry, Finding } from '../model.js';
import type { HttpClient } from './_http.js';
import type { ArtifactRef, RelatedInfo } from './types.js';

/** apt refuses RSA keys below 3072 bits from this date (apt 2.9.x/3.0 "weak key" policy, Debian trixie release notes). */
export const APT_RSA_CUTOFF = '2030-02-01';

/** Hash names as the stores spell them → the ids DESIGN.md uses in `algorithm.hash`, weakest first. */
export const HASH_STRENGTH: Record<string, number> = {
  MD5: 0,
  'SHA-1': 1,
  'SHA-224': 2,
  'SHA-256': 3,
  'SHA-384': 4,
  'SHA-512': 5,
  'SHA3-256': 3,
  'SHA3-512': 5,
};

export function hashId(name: string): string | undefined {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  const map: Record<string, string> = {
    md5: 'MD5',
    md5sum: 'MD5',
    sha1: 'SHA-1',
    sha: 'SHA-1',
    sha224: 'SHA-224',
    sha256: 'SHA-256',
    sha384: 'SHA-384',
    sha512: 'SHA-512',
    sha3256: 'SHA3-256',
  };
  return map[n];
}

/** The weaker of two hashes (undefined counts as unknown and loses to nothing). */
export function weaker(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return (HASH_STRENGTH[a] ?? 0) <= (HASH_STRENGTH[b] ?? 0) ? a : b;
}

/** An index file with whatever signed it. */
export interface SignedIndex {
  /** URL of the index (the signed file itself). */
  url: string;
  /** Its path relative to the store root, for `location.member`. */
  name: string;
  /** Signature findings on it (inline or detached), as the detectors report them. */
  signatures: Finding[];
  /** Key findings on keys the store publishes or the user gave (expiry, size). */
  errors: ErrorEntry[];
  /** The strongest hash the index offers for what it lists (the weakest link is computed per artifact). */
}

/**
 * Run the detectors on a signature (or a cleartext-signed index) and keep the signature findings. `name` drives the
 * detectors' name claims (`InRelease`, `repomd.xml.asc`, `SHA256SUMS.sig`, `x.minisig`, `x.sigstore.json`).
 */
export function readSignatures(bytes: Uint8Array, name: string, uri: string): { signatures: Finding[]; keys: Finding[]; errors: ErrorEntry[] } {
  const base = name.split('/').pop() ?? name;
  const r = runDetectors(bytes, { name: base, uri, size: bytes.length, baseOffset: 0, whole: true });
  return {
    signatures: r.findings.filter((f) => f.kind === 'signature'),
    keys: r.findings.filter((f) => f.kind === 'public-key' || f.kind === 'certificate'),
    errors: r.errors,
  };
}

/**
 * Check signatures against the keys a store publishes (or the user gave): an expired signing key is an error on
 * everything it covers (RFC 9580 §5.2.3.13: a key is not valid after its expiration time); an RSA key below 3072 bits
 * gets the apt cutoff noted.
 */
export function checkSigningKeys(signatures: Finding[], keys: Finding[], now: Date, where: string): ErrorEntry[] {
  const errors: ErrorEntry[] = [];
  for (const s of signatures) {
    const issuer = String(s.details?.issuerFingerprint ?? s.issuer ?? s.details?.issuerKeyId ?? '').toLowerCase();
    if (!issuer) continue;
    const key = keys.find((k) => {
      const fp = String(k.fingerprint ?? '').toLowerCase();
      return fp && (fp === issuer || fp.endsWith(issuer));
    });
    if (!key) continue;
    if (key.notAfter && Date.parse(key.notAfter) < now.getTime()) {
      errors.push({
        code: 'malformed',
        message: `${where}: signed by key ${issuer} which expired on ${key.notAfter.slice(0, 10)}; clients reject it`,
        source: 'source',
      });
    }
  }
  return errors;
}

/**
 * The findings a covered artifact carries: each chain signature, located at the index that signs it, with the
 * weakest hash on the way down (signature digest, index → sub-index hash, sub-index → artifact hash).
 */
export function chainFindings(index: SignedIndex, linkHashes: (string | undefined)[], apt = false): Finding[] {
  const linkWeakest = linkHashes.reduce<string | undefined>((w, h) => weaker(w, h), undefined);
  return index.signatures.map((s) => {
    const own = s.algorithm.hash;
    const weakest = weaker(own, linkWeakest);
    const details: Record<string, unknown> = { ...(s.details ?? {}), coverage: 'covered', index: index.name };
    if (weakest && weakest !== own) details.chainHash = weakest;
    if (apt && s.algorithm.family === 'RSA') {
      const bits = Number(s.algorithm.id.replace(/^RSA-/, ''));
      if (Number.isFinite(bits) && bits < 3072) details.aptRefusesFrom = APT_RSA_CUTOFF;
    }
    return { ...s, algorithm: { ...s.algorithm, ...(weakest ? { hash: weakest } : {}) }, location: { ...s.location, member: index.name }, details };
  });
}

/**
 * `<tag …>body</tag>` blocks of an XML document, found with indexOf so the walk stays linear on hostile input (a lazy
 * regex over a document with many openings and no closing tag is quadratic). Nested blocks of the same tag are not
 * expected in the formats read here (rpm-md, AppStream).
 */
export function* xmlBlocks(xml: string, tag: string, max = 10_000_000): Iterable<{ attrs: string; body: string }> {
  const open = `<${tag}`;
  const close = `</${tag}>`;
  let at = 0;
  for (let n = 0; n < max; n++) {
    const start = xml.indexOf(open, at);
    if (start < 0) return;
    const after = xml.charCodeAt(start + open.length);
    // `<package` must not match `<packages`: the name ends at whitespace, `>` or `/`.
    if (!(after === 0x20 || after === 0x09 || after === 0x0a || after === 0x0d || after === 0x3e || after === 0x2f)) {
      at = start + open.length;
      continue;
    }
    const gt = xml.indexOf('>', start);
    if (gt < 0) return;
    if (xml[gt - 1] === '/') {
      at = gt + 1;
      yield { attrs: xml.slice(start + open.length, gt - 1), body: '' };
      continue;
    }
    const end = xml.indexOf(close, gt);
    if (end < 0) return;
    yield { attrs: xml.slice(start + open.length, gt), body: xml.slice(gt + 1, end) };
    at = end + close.length;
  }
}

/** What to do with the objects an index lists: nothing, their signature headers only, or every byte. */
export type FetchMode = 'none' | 'headers' | 'all';

export function fetchMode(v: unknown, fallback: FetchMode): FetchMode {
  return v === 'none' || v === 'headers' || v === 'all' ? v : fallback;
}

export interface ListedObject {
  url: string;
  name: string;
  size?: number;
  /** `sha256:<hex>` when the index gives one: the artifact's identity without downloading it. */
  digest?: string;
  annotations: Record<string, string>;
  /** Findings the chain gives it; errors to report on it. */
  findings: Finding[];
  errors: ErrorEntry[];
  coverage: ArtifactCoverage;
  /** Reads that fetch a signature header etc. (`--fetch headers`): they may add findings and change coverage. */
  extra?: () => Promise<Partial<RelatedInfo>>;
}

/**
 * An artifact the store lists. With `fetch: 'all'` its bytes are streamed (the engine checks them against `digest`);
 * otherwise nothing is read from it except what `extra` fetches (a header range), and the index's digest identifies it.
 */
export function listedRef(o: ListedObject, http: HttpClient, fetch: FetchMode): ArtifactRef {
  const ref: ArtifactRef = {
    uri: o.url,
    name: o.name,
    ...(o.size !== undefined ? { size: o.size } : {}),
    ...(o.digest ? { digest: o.digest } : {}),
    annotations: o.annotations,
    reopenable: true,
    open: () => http.open(o.url),
    related: async () => {
      const info: RelatedInfo = {
        findings: [...o.findings],
        errors: o.errors.map((e) => ({
          code: e.code === 'remote' || e.code === 'malformed' || e.code === 'unsupported' || e.code === 'limit-size' ? e.code : 'malformed',
          message: e.message,
        })),
        coverage: o.coverage,
      };
      if (o.extra) {
        try {
          const x = await o.extra();
          if (x.findings) info.findings!.push(...x.findings);
          if (x.attached) info.attached = x.attached;
          if (x.errors) info.errors!.push(...x.errors);
          if (x.coverage) info.coverage = x.coverage;
          if (x.annotations) info.annotations = x.annotations;
        } catch (e) {
          info.errors!.push({ code: 'remote', message: (e as Error).message.startsWith(o.url) ? (e as Error).message : `${o.url}: ${(e as Error).message}` });
        }
      }
      return info;
    },
  };
  if (fetch !== 'all' && o.size !== undefined && o.size > 0) {
    // No bytes of the object itself: a zero-width sample makes the engine read nothing and take the index's digest.
    ref.sample = { head: 0, tail: 0 };
    ref.read = async (start, end) => (end <= start ? new Uint8Array() : http.range(o.url, start, end));
  }
  return ref;
}
