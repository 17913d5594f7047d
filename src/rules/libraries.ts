/**
 * zod and yaml, loaded the first time a rules or config file is parsed rather than at start-up: a build reads the
 * bundled rules from its compiled module (src/rules/loader.ts), so a scan without `--config` needs neither, and
 * evaluating them costs more than the rest of a one-file scan. Loaded through `require` (both ship CommonJS; Node
 * resolves them from node_modules, the CLI bundle leaves them out), the one way to load a module synchronously on
 * demand.
 * @module
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export function zod(): typeof import('zod') {
  return load('zod') as typeof import('zod');
}

export function yaml(): typeof import('yaml') {
  return load('yaml') as typeof import('yaml');
}
