/**
 * The schema-versioned JSON inventory (docs/architecture.md "Scan output contract"; schema/scan-output.schema.json).
 * @module
 */
import { safeJson } from './text.js';
import type { Reporter } from './types.js';

export const jsonReporter: Reporter = {
  id: 'json',
  description: 'schema-versioned JSON inventory (schema/scan-output.schema.json)',
  extension: 'json',
  // Lossless, but with no character that acts on a terminal when the file is shown (safeJson).
  render: (result) => `${safeJson(result, 2)}\n`,
};
