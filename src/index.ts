/**
 * shelflife's public library surface. Everything the CLI does is a call to one of these.
 * @module
 */
export { scan, type ScanOptions } from './scan/scan.js';
export { scoreScan, prepareScoring, scoreFinding, type ScoringOptions } from './scoring/index.js';
export { configureScan, loadConfig, parseConfig, type ConfiguredScan, type ScanRequest, type ShelflifeConfig } from './config.js';
export { ScanEngine } from './scan/engine.js';
export { catalogue, loadCatalogue, Catalogue } from './catalogue/index.js';
export { DETECTORS, runDetectors } from './detectors/index.js';
export { REPORTERS, type RenderOptions, type Reporter, type ReportFormat } from './report/index.js';
export { writeReports, type ReportOutput } from './report/write.js';
export { findingId, findingKey } from './identity.js';
export { resolveSource, SCHEMES } from './sources/index.js';
export { Inventory } from './inventory/inventory.js';
export { spoolAndDeliver, flushSinks, type DeliveryReport } from './sinks/deliver.js';
export type { SinkConfig } from './sinks/transport.js';
export { ShelflifeError, ParseError, LimitError, UsageError } from './errors.js';
export * from './model.js';
