/**
 * shelflife's import boundaries (docs/DEVELOPING.md "Layout"), as one ESLint rule:
 * - a file may import `_`-prefixed (folder-private) modules only from its own folder or an ancestor folder's,
 *   never from a sibling or cousin folder: shared code gets a public module instead;
 * - `src/sources/**`, `src/sinks/**` and `src/containers/**` import no detector (sources yield bytes, containers
 *   yield members, the engine detects; a format both need lives in `src/formats/` or `src/pkix/`);
 * - nothing outside `src/cli/` imports `src/cli/` (the CLI is the top of the flow);
 * - `src/detectors/**`, `src/pkix/**` and `src/formats/**` are pure: in `src/` they import only the modules PURE lists
 *   (a detector also other detectors), so no I/O, source, engine or report reaches a parser.
 */
import { dirname, relative, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SRC = resolve(ROOT, 'src');

/**
 * What a pure folder may import from `src/` (first path segment, or a top-level file): the shared modules they read
 * with (src/glob.ts: the one glob matcher, for detectors' name claims as for user globs), and the catalogue that names
 * algorithms. Packages (`node:crypto`, `picomatch`) are not checked here.
 */
const PURE = {
  detectors: ['detectors', 'pkix', 'formats', 'catalogue', 'model.ts', 'identity.ts', 'errors.ts', 'limits.ts', 'glob.ts'],
  pkix: ['pkix', 'catalogue', 'model.ts', 'errors.ts', 'limits.ts'],
  formats: ['formats', 'model.ts', 'errors.ts', 'limits.ts'],
};

/** `../model.js` names `src/model.ts`: ESM imports spell TypeScript files with `.js`. */
function sourceName(segment) {
  return segment.endsWith('.js') ? `${segment.slice(0, -3)}.ts` : segment;
}

function inside(dir, file) {
  const r = relative(dir, file);
  return r === '' || (!r.startsWith('..') && !r.startsWith(sep) && r !== '..');
}

/** @type {import('eslint').Rule.RuleModule} */
export const boundaries = {
  meta: { type: 'problem', docs: { description: 'shelflife import boundaries' }, schema: [] },
  create(context) {
    const file = resolve(context.filename);
    const fromDir = dirname(file);
    function check(node, spec) {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = resolve(fromDir, spec);
      const targetDir = dirname(target);
      const base = target.slice(targetDir.length + 1);
      if (base.startsWith('_') && !inside(targetDir, fromDir)) {
        context.report({ node, message: `'${spec}' is private to ${relative(ROOT, targetDir)}/ (a leading _): import a public module instead` });
      }
      if (!inside(SRC, file)) return;
      const fromRel = relative(SRC, file).split(sep);
      const toRel = relative(SRC, target).split(sep);
      if ((fromRel[0] === 'sources' || fromRel[0] === 'sinks' || fromRel[0] === 'containers') && toRel[0] === 'detectors') {
        context.report({
          node,
          message: `src/${fromRel[0]} must not import a detector ('${spec}'): sources, containers and sinks move bytes and events; the engine detects`,
        });
      }
      const allowed = PURE[fromRel[0]];
      if (allowed && fromRel.length > 1 && !allowed.includes(sourceName(toRel[0]))) {
        context.report({
          node,
          message: `src/${fromRel[0]} is pure and imports only ${allowed.join(', ')} from src/ ('${spec}'): pass what it needs in, or move the shared part to one of those`,
        });
      }
      if (fromRel[0] !== 'cli' && toRel[0] === 'cli') {
        context.report({ node, message: `nothing outside src/cli imports the CLI ('${spec}'): move what is shared into the library` });
      }
    }
    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};
