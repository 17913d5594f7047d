/**
 * What every sink transport implements, and the sink configuration they are built from.
 * @module
 */
import type { EventFormat } from '../report/event.js';
import type { SpooledEvent } from './spool.js';
import { ShelflifeError, type ErrorDetails } from '../errors.js';

/** Everything needed to reach a sink again (saved in the spool as sink.json): never a secret, only where it lives. */
export interface SinkConfig {
  url: string;
  format?: EventFormat;
  tokenEnv?: string;
  tokenFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/** Outcome of one batch: indexes to retry (transient) and indexes refused for good, with the receiver's reason. */
export interface BatchResult {
  retry: number[];
  rejected: { index: number; reason: string }[];
}

/** A whole-batch failure worth retrying (receiver down, timeout, 5xx, 429). */
export class TransientSinkError extends ShelflifeError {
  override readonly name = 'TransientSinkError';
  readonly retryAfterMs?: number;
  /** `uri` is the sink's label (its URL without secrets). */
  constructor(message: string, details: ErrorDetails & { retryAfterMs?: number } = {}) {
    super('sink', message, details);
    this.retryAfterMs = details.retryAfterMs;
  }
}

export interface SinkTransport {
  /** The sink URL without secrets, for messages. */
  readonly label: string;
  readonly maxBatchEvents: number;
  readonly maxBatchBytes: number;
  /** Batches that may be in flight at once (commits stay in order); 1 when absent. */
  readonly parallelBatches?: number;
  /** Deliver a batch; resolves once the receiver has acknowledged what the protocol lets it acknowledge. */
  send(batch: SpooledEvent[]): Promise<BatchResult>;
  close(): Promise<void>;
}

export const ALL_DELIVERED: BatchResult = Object.freeze({ retry: [], rejected: [] }) as BatchResult;
