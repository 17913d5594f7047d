/**
 * `--format ocsf`: one OCSF 1.2.0 Compliance Finding per line (NDJSON), for any pipeline that reads files. The same
 * events the SIEM sinks send (src/sinks/event.ts, src/sinks/ocsf.ts).
 * @module
 */
import { eventsOfScan } from '../sinks/event.js';
import { toOcsf } from '../sinks/ocsf.js';
import type { Reporter } from './index.js';

export const ocsfReporter: Reporter = {
  id: 'ocsf',
  description: 'OCSF 1.2.0 Compliance Finding events, one JSON object per line (NDJSON)',
  extension: 'ndjson',
  render: (result) => {
    let out = '';
    for (const e of eventsOfScan(result)) out += `${JSON.stringify(toOcsf(e))}\n`;
    return out;
  },
};
