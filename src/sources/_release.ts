/**
 * What the release-store sources (apt, yum, checksum directories, LVFS) share: one option type, the client they
 * read through, and the shape of what they yield. Sources fetch bytes and say what vouches for each artifact (the
 * index that lists it and where that index's signatures are: `RelatedInfo.vouching`); the engine runs the detectors
 * and decides coverage (src/scan/vouching.ts), so nothing here parses a signature or guesses one from a file name.
 * @module
 */
import { errorAbout, ShelflifeError } from '../errors.js';
import { HttpClient, type NetOptions } from '../net/http.js';
import { splitUserinfo } from '../net/secrets.js';
import type { SourceOptions } from './index.js';
import type { ErrorEntry } from '../model.js';
import type { ArtifactRef, IndexChain, RelatedInfo } from './types.js';

/** Options of every release-store source: the network settings plus what each store needs. */
export interface ReleaseSourceOptions extends SourceOptions, NetOptions {
  /** What to read of the objects an index lists (`--fetch`). */
  fetch?: FetchMode;
  /** apt: the suite (`dists/<suite>`). */
  suite?: string;
  /** apt: keyring files whose keys' expiry is checked against the Release signatures (`--keyring`). */
  keyring?: string | string[];
  /** A client shared across sources (tests, benchmarks); otherwise each source makes and closes its own. */
  http?: HttpClient;
}

/** A release source's client and base URL: a password in the URL goes to that origin's requests only, never into a URI. */
export function releaseClient(url: string, options: ReleaseSourceOptions): { url: string; http: HttpClient; owned: boolean } {
  const split = splitUserinfo(url);
  const http = options.http ?? new HttpClient(options);
  if (split.authorization) http.authorize(new URL(split.url).origin, split.authorization);
  return { url: split.url, http, owned: !options.http };
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
  errors: NonNullable<RelatedInfo['errors']>;
  /** The indexes that list it, preferred first; absent: nothing vouches for it but its own signatures. */
  chains?: IndexChain[];
  /** Reads that fetch signature material (`--fetch headers`: a header range, sibling signatures) for the engine. */
  extra?: () => Promise<Partial<RelatedInfo>>;
}

/**
 * An artifact the store lists. With `fetch: 'all'` its bytes are streamed (the engine checks them against `digest`);
 * otherwise nothing is read from it except what `extra` fetches, and the index's digest identifies it.
 */
export function listedRef(o: ListedObject, http: HttpClient, fetch: FetchMode): ArtifactRef {
  const ref: ArtifactRef = {
    uri: o.url,
    name: o.name,
    ...(o.size !== undefined ? { size: o.size } : {}),
    ...(o.digest ? { digest: o.digest } : {}),
    annotations: o.annotations,
    reopenable: true,
    // What covers it is fetched with it (the index chain, sibling signatures): read again on every scan.
    reusable: false,
    open: () => http.open(o.url),
    related: async () => {
      const info: RelatedInfo = { errors: [...o.errors], vouching: o.chains ? { chains: o.chains } : {} };
      if (o.extra) {
        try {
          const x = await o.extra();
          if (x.attached) info.attached = x.attached;
          if (x.errors) info.errors!.push(...x.errors);
          if (x.annotations) info.annotations = x.annotations;
        } catch (e) {
          // A failed signature read leaves what the index says in place; the failure is reported on the artifact.
          info.errors!.push(errorEntry(e, o.url));
        }
      }
      return info;
    },
  };
  if (fetch !== 'all' && o.size !== undefined && o.size > 0) {
    // No bytes of the object itself: a zero-width sample makes the engine read nothing and take the index's digest.
    ref.sample = { head: 0, tail: 0, digestFrom: 'index' };
    ref.read = async (start, end) => (end <= start ? new Uint8Array() : http.range(o.url, start, end));
  }
  return ref;
}

/** The note on an artifact whose server answered a Range request with the whole body (HTTP 200), read `n` bytes in. */
export function rangeIgnoredNote(n: number): string {
  return `the server ignored the Range request (HTTP 200, the whole body); its first ${n} bytes were read and the rest cancelled`;
}

/**
 * A failure while reading an index or a signature, as the error entry it becomes on the artifact: a ShelflifeError
 * keeps its code (a limit stays a limit); anything else is a bug and is rethrown.
 */
export function errorEntry(e: unknown, url: string): Omit<ErrorEntry, 'source'> {
  if (!(e instanceof ShelflifeError)) throw e;
  return errorAbout(url, e);
}
