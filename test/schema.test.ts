/** The JSON output validates against the committed schema (schema/scan-output.schema.json). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/model.js';
import { FIXTURES, scanPaths } from './helpers/scan.js';

const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'schema', 'scan-output.schema.json'), 'utf8'));

function validator() {
  const ajv = new Ajv2020.default({ allErrors: true, strict: true });
  addFormats.default(ajv);
  return ajv.compile(schema);
}

describe('scan output schema', () => {
  it('accepts a scan of every bundled fixture', async () => {
    const result = await scanPaths(FIXTURES);
    const validate = validator();
    const ok = validate(JSON.parse(JSON.stringify(result)));
    expect(validate.errors ?? [], 'schema errors').toEqual([]);
    expect(ok).toBe(true);
    expect(result.artifacts.length).toBeGreaterThan(10);
  });

  it('lists exactly the error codes the model has', () => {
    expect(schema.$defs.error.properties.code.enum).toEqual([...ERROR_CODES]);
  });

  it('records errors as data: the reason alone, the URI in its own field', async () => {
    const result = await scanPaths(FIXTURES);
    const errors = result.artifacts.flatMap((a) => a.errors.map((e) => ({ artifact: a.uri, ...e })));
    expect(errors.length).toBeGreaterThan(5);
    for (const e of errors) {
      expect(e.message.startsWith(e.artifact), e.message).toBe(false);
      expect(e.message).not.toMatch(/^[a-z0-9+]+:\/\//);
      if (e.uri !== undefined) expect(e.uri).not.toBe(e.artifact);
    }
  });

  it('rejects output that breaks the contract', () => {
    const validate = validator();
    const bad = {
      schemaVersion: '1',
      tool: { name: 'shelflife', version: '0' },
      scan: {
        id: 'x',
        startedAt: '2026-01-01T00:00:00Z',
        finishedAt: '2026-01-01T00:00:00Z',
        targets: [],
        stats: { artifacts: 0, bytes: 0, findings: 0, errors: 0 },
      },
      artifacts: [
        {
          uri: 'file:///a',
          parent: null,
          sha256: null,
          size: 0,
          findings: [
            {
              kind: 'certificate',
              format: 'x509',
              algorithm: { id: 'RSA-2048', family: 'RSA' },
              quantum: { status: 'doomed', classicalBits: 112, nistLevel: null },
              location: {},
            },
          ],
          errors: [],
        },
      ],
    };
    expect(validate(bad)).toBe(false);
  });
});
