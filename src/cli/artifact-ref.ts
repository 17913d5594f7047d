/**
 * What a person types to name an artifact (`explain`, `where`): a path, relative or absolute, or a URI, with a
 * container member as `<container>!/<member>`. One resolution for every command, so a path `explain` accepts is one
 * `where` accepts.
 * @module
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileUri } from '../sources/fs.js';

/** A path or URI → the artifact URI to look for and the top-level target (a path for local files) that holds it. */
export function artifactRef(input: string): { uri: string; target: string } {
  const isUri = /^[a-z][a-z0-9+.-]*:\/\//i.test(input);
  if (!isUri) {
    const bang = input.indexOf('!/');
    const outer = resolve(bang < 0 ? input : input.slice(0, bang));
    return { uri: fileUri(outer) + (bang < 0 ? '' : input.slice(bang)), target: outer };
  }
  const bang = input.indexOf('!/');
  const outer = bang < 0 ? input : input.slice(0, bang);
  return { uri: input, target: outer.startsWith('file:') ? fileURLToPath(outer) : outer };
}
