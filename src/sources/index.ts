/**
 * Target → Source. Local paths and file:// URIs are walked here; remote schemes register a factory in SCHEMES.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { redactUrl } from '../net/secrets.js';
import { FsSource } from './fs.js';
import type { Source, WorkUnit } from './types.js';

export interface SourceOptions {
  include?: string[];
  exclude?: string[];
  /** Options that only some sources understand (remote stores): passed through untouched. */
  [key: string]: unknown;
}

export type SourceFactory = (target: string, options: SourceOptions) => Source;

/**
 * A factory whose module is imported when the walk starts: remote sources bring the AWS SDK and an HTTP client,
 * which a scan of local files should neither load nor hold in memory.
 */
function lazy(load: () => Promise<SourceFactory>): SourceFactory {
  return (target, options) => {
    let inner: Source | undefined;
    return {
      target: redactUrl(target),
      async *walk(unit?: WorkUnit) {
        const factory = await load();
        inner ??= factory(target, options);
        yield* inner.walk(unit);
      },
      async *units(within?: WorkUnit) {
        const factory = await load();
        inner ??= factory(target, options);
        yield* inner.units ? inner.units(within) : [{ uri: redactUrl(target), part: {} }];
      },
      // A second read for a signature check (src/scan/coverage.ts) goes to the source that yielded the artifact.
      reread(a) {
        return inner?.reread?.(a);
      },
      async close() {
        await inner?.close();
      },
    };
  };
}

const oci = lazy(async () => (await import('./oci.js')).ociSource);
const s3 = lazy(async () => (await import('./s3.js')).s3Source);
const apt = lazy(async () => (await import('./apt.js')).aptSource);
const yum = lazy(async () => (await import('./yum.js')).yumSource);
const lvfs = lazy(async () => (await import('./lvfs.js')).lvfsSource);
const checksums = lazy(async () => (await import('./checksums.js')).checksumSource);

/** URI scheme (without `://`) → factory. Remote sources add their row here. */
export const SCHEMES: Record<string, SourceFactory> = {
  oci,
  s3,
  'apt+https': apt,
  'apt+http': apt,
  'yum+https': yum,
  'yum+http': yum,
  'lvfs+https': lvfs,
  'lvfs+http': lvfs,
  https: checksums,
  http: checksums,
};

export function resolveSource(target: string, options: SourceOptions = {}): Source {
  const m = target.match(/^([a-z][a-z0-9+.-]*):\/\//i);
  if (!m || m[1].length === 1) return new FsSource(target, options);
  const scheme = m[1].toLowerCase();
  if (scheme === 'file') return new FsSource(fileURLToPath(target), options);
  const factory = SCHEMES[scheme];
  if (!factory) {
    throw new UsageError(
      `unsupported target scheme "${scheme}://" (supported: file paths, file://${Object.keys(SCHEMES)
        .map((s) => `, ${s}://`)
        .join('')})`,
      { uri: redactUrl(target) },
    );
  }
  return factory(target, options);
}
