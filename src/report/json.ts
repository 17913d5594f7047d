/**
 * The schema-versioned JSON inventory (DESIGN.md "Scan output contract"; schema/scan-output.schema.json).
 * @module
 */
import type { Reporter } from './types.js';

export const jsonReporter: Reporter = {
  id: 'json',
  description: 'schema-versioned JSON inventory (schema/scan-output.schema.json)',
  extension: 'json',
  render: (result) => `${JSON.stringify(result, null, 2)}\n`,
};
