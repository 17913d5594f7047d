/**
 * The provenance of the models a scan found, summarized once per model for every report (docs/provenance.md
 * "Inventory and reports"): for each OpenSSF Model Signing signature in the scan, `shelflife provenance` on the
 * model's location (its directory, S3 prefix or OCI manifest), reduced to integrity, lineage, last evaluation and
 * approval. Files the scan has just read are not read again when the signature's manifest is SHA-256 (their digests
 * come from the scan); an OCI layer's SHA-256 is its descriptor's digest. A model that cannot be answered keeps its
 * row with the reason.
 * @module
 */
import { errorMessage, ShelflifeError } from '../errors.js';
import type { ScanModel, ScanResult } from '../model.js';
import { answerProvenance, type InventoryLookup } from './answer.js';
import { modelsInScan, summarizeAnswer } from './scan-models.js';
import type { Trust } from './trust.js';

/** Models summarized in one scan; beyond this they are listed without a summary (each would re-open its store). */
export const MAX_MODELS_SUMMARIZED = 256;

export interface ScanProvenanceOptions {
  trust?: Trust;
  evidence?: string[];
  /** Registry and S3 options of the scan (CA, plain HTTP, timeouts), for models in remote stores. */
  remote?: Record<string, unknown>;
  inventory?: InventoryLookup;
  now?: Date;
}

/** `result.models`: every signed model of the scan with its provenance in brief (once per model location). */
export async function summarizeScanModels(result: ScanResult, options: ScanProvenanceOptions = {}): Promise<ScanModel[]> {
  const models = modelsInScan(result);
  const known = new Map<string, { sha256: string; size: number }>();
  for (const a of result.artifacts) if (a.sha256) known.set(a.uri, { sha256: a.sha256, size: a.size });
  const done = new Map<string, Pick<ScanModel, 'provenance' | 'provenanceError'>>();
  for (const m of models) {
    const key = `${m.root} ${m.uri}`;
    if (done.has(key)) Object.assign(m, done.get(key));
    else if (done.size >= MAX_MODELS_SUMMARIZED)
      m.provenanceError = `more than ${MAX_MODELS_SUMMARIZED} models in one scan; run \`shelflife provenance\` on it`;
    else if (m.uri.includes('!/')) m.provenanceError = 'inside an archive: run `shelflife provenance` on the extracted model';
    else {
      try {
        const answer = await answerProvenance(m.uri, {
          ...(options.trust ? { trust: options.trust } : {}),
          ...(options.evidence?.length ? { evidence: options.evidence } : {}),
          ...(options.remote ? { remote: options.remote } : {}),
          ...(options.inventory ? { inventory: options.inventory } : {}),
          ...(options.now ? { now: options.now } : {}),
          knownDigests: known,
        });
        m.provenance = summarizeAnswer(answer);
      } catch (e) {
        // The store failed or refused (gone or unreadable since the scan, a limit): the model keeps its row, with
        // the reason. Anything else is a bug and fails the scan.
        if (!(e instanceof ShelflifeError) && typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
        m.provenanceError = errorMessage(e);
      }
    }
    done.set(key, { ...(m.provenance ? { provenance: m.provenance } : {}), ...(m.provenanceError ? { provenanceError: m.provenanceError } : {}) });
  }
  return models;
}
