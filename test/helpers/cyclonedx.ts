/** The official CycloneDX 1.6 JSON schema (shipped by @cyclonedx/cyclonedx-library) as an ajv validator, for tests. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const require = createRequire(import.meta.url);
const CDX = join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

export function cdxValidator() {
  const ajv = new Ajv.default({ allErrors: true, strict: false });
  addFormats.default(ajv);
  // The 1.6 schema refers to its companions by their SNAPSHOT file names, relative to its $id.
  for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json', 'cryptography-defs.SNAPSHOT.schema.json']) {
    const schema = readJson(join(CDX, f));
    delete schema.$id;
    ajv.addSchema(schema, `http://cyclonedx.org/schema/${f}`);
  }
  return ajv.compile(readJson(join(CDX, 'bom-1.6.SNAPSHOT.schema.json')));
}
