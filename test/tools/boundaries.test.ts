/**
 * The import boundaries rule (tools/eslint/boundaries.js, docs/DEVELOPING.md "What may import what"): `npm run lint`
 * fails on any crossing, so each kind of crossing is planted here under a real path and must be reported, and the
 * imports the layout allows must not be.
 */
import { resolve } from 'node:path';
import { Linter } from 'eslint';
import { describe, expect, it } from 'vitest';
import { boundaries } from '../../tools/eslint/boundaries.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const linter = new Linter({ cwd: ROOT });
const config = [
  {
    files: ['**/*.ts'],
    plugins: { shelflife: { rules: { boundaries } } },
    rules: { 'shelflife/boundaries': 'error' as const },
  },
];

/** The boundary messages for `import … from spec` written in the file `from` (a path under the repository). */
function crossings(from: string, spec: string, form: 'import' | 'export' | 'dynamic' = 'import'): string[] {
  const code =
    form === 'import'
      ? `import { x } from '${spec}';\nexport const y = x;\n`
      : form === 'export'
        ? `export { x } from '${spec}';\n`
        : `export const m = import('${spec}');\n`;
  const messages = linter.verify(code, config, resolve(ROOT, from));
  expect(messages.filter((m) => m.ruleId !== 'shelflife/boundaries')).toEqual([]); // no parse error hides a crossing
  return messages.map((m) => m.message);
}

describe('shelflife/boundaries', () => {
  it("reports an import of another folder's _-private file, in every import form", () => {
    for (const form of ['import', 'export', 'dynamic'] as const) {
      expect(crossings('src/resign/cert.ts', '../detectors/_encrypted-key.js', form)).toEqual([expect.stringMatching(/private to src\/detectors\//)]);
    }
    expect(crossings('test/resign/keys.test.ts', '../../src/detectors/_json.js')).toEqual([expect.stringMatching(/private to src\/detectors\//)]);
  });

  it('allows a _-private file from its own folder and from the folders below it', () => {
    expect(crossings('src/detectors/keys.ts', './_encrypted-key.js')).toEqual([]);
    // A subfolder's file (the rule works on paths; this one need not exist).
    expect(crossings('src/sources/stores/index.ts', '../_release.js')).toEqual([]);
  });

  it('reports a detector imported by a source, a container or a sink', () => {
    for (const from of ['src/sources/yum.ts', 'src/containers/rpm.ts', 'src/sinks/syslog.ts']) {
      expect(crossings(from, '../detectors/rpm.js')).toEqual([expect.stringMatching(/must not import a detector/)]);
    }
  });

  it('reports an import of the CLI from outside it, and allows one inside it', () => {
    expect(crossings('src/scan/scan.ts', '../cli/main.js')).toEqual([expect.stringMatching(/nothing outside src\/cli imports the CLI/)]);
    expect(crossings('src/cli/main.ts', './keygen-command.js')).toEqual([]);
  });

  it('keeps detectors, pkix and formats pure: only the shared modules they read with', () => {
    expect(crossings('src/detectors/keys.ts', '../pkix/pkcs8.js')).toEqual([]);
    expect(crossings('src/detectors/rpm.ts', '../formats/rpm.js')).toEqual([]);
    expect(crossings('src/detectors/x509.ts', '../catalogue/index.js')).toEqual([]);
    expect(crossings('src/detectors/pkcs12.ts', './cms.js')).toEqual([]);
    expect(crossings('src/detectors/index.ts', '../glob.js')).toEqual([]);
    expect(crossings('src/pkix/algorithm.ts', '../catalogue/index.js')).toEqual([]);
    expect(crossings('src/formats/rpm.ts', '../limits.js')).toEqual([]);
    for (const [from, spec] of [
      ['src/detectors/x509.ts', '../scan/engine.js'],
      ['src/detectors/x509.ts', '../sources/fs.js'],
      ['src/detectors/keys.ts', '../resign/keys.js'],
      ['src/pkix/certificate.ts', '../detectors/x509.js'],
      ['src/pkix/der.ts', '../resign/composite.js'],
      ['src/formats/rpm.ts', '../detectors/openpgp.js'],
      ['src/formats/rpm.ts', '../pkix/der.js'],
    ]) {
      expect(crossings(from, spec), `${from} → ${spec}`).toEqual([expect.stringMatching(/is pure and imports only/)]);
    }
  });

  it('leaves packages and the other stages alone', () => {
    expect(crossings('src/detectors/kmod.ts', 'node:zlib')).toEqual([]);
    expect(crossings('src/resign/cert.ts', '../pkix/certificate.js')).toEqual([]);
    expect(crossings('src/scan/engine.ts', '../detectors/index.js')).toEqual([]);
  });
});
