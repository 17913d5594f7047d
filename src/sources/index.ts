/**
 * Target → Source. Local paths and file:// URIs are walked here; remote schemes register a factory in SCHEMES.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { FsSource } from './fs.js';
import { ociSource } from './oci/index.js';
import { s3Source } from './s3.js';
import { aptSource } from './apt.js';
import { checksumSource } from './checksums.js';
import { lvfsSource } from './lvfs.js';
import { yumSource } from './yum.js';
import type { Source } from './types.js';

export interface SourceOptions {
  include?: string[];
  exclude?: string[];
  /** Options that only some sources understand (remote stores): passed through untouched. */
  [key: string]: unknown;
}

export type SourceFactory = (target: string, options: SourceOptions) => Source;

/** URI scheme (without `://`) → factory. Remote sources add their row here. */
export const SCHEMES: Record<string, SourceFactory> = {
  oci: ociSource,
  s3: s3Source,
  'apt+https': aptSource,
  'apt+http': aptSource,
  'yum+https': yumSource,
  'yum+http': yumSource,
  'lvfs+https': lvfsSource,
  'lvfs+http': lvfsSource,
  https: checksumSource,
  http: checksumSource,
};

export function resolveSource(target: string, options: SourceOptions = {}): Source {
  const m = target.match(/^([a-z][a-z0-9+.-]*):\/\//i);
  if (!m || m[1].length === 1) return new FsSource(target, options);
  const scheme = m[1].toLowerCase();
  if (scheme === 'file') return new FsSource(fileURLToPath(target), options);
  const factory = SCHEMES[scheme];
  if (!factory) {
    throw new UsageError(`${target}: unsupported target scheme "${scheme}://" (supported: file paths, file://${Object.keys(SCHEMES).map((s) => `, ${s}://`).join('')})`);
  }
  return factory(target, options);
}
