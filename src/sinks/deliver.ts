/**
 * At-least-once delivery: events are spooled (fsync'd) first, then sent in batches; a batch is committed in the
 * spool only once the receiver acknowledged it, so an outage or a receiver restart mid-stream loses nothing. Failed
 * batches are retried with exponential backoff and jitter (honouring Retry-After); per-item failures re-send only the
 * failed items. Whatever is still pending when the retry budget runs out stays spooled for `shelflife sinks flush`.
 * @module
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, reasonAt, ShelflifeError } from '../errors.js';
import type { Inventory } from '../inventory/inventory.js';
import type { ScanResult } from '../model.js';
import { changedEventsOfScan, EVENT_FORMATS, eventsOfScan, type EventFormat, type SinkEvent } from '../report/event.js';
import { createTransport, sinkSpoolName, validateSinkConfig } from './config.js';
import { defaultSpoolRoot, openSpoolRoot, readPrivateFile, SinkSpool, SpoolRefused, type SpooledEvent, writeFileDurably } from './spool.js';
import { type SinkConfig, type SinkTransport, TransientSinkError } from './transport.js';

export interface DeliveryOptions {
  /** How long to keep retrying a failing receiver before leaving the rest spooled (ms). */
  retryForMs?: number;
  /** First backoff step (ms); doubles per attempt up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** HEC indexer-acknowledgment poll interval (ms). */
  ackPollMs?: number;
  /** Progress and retry notes (never secrets). */
  log?: (line: string) => void;
}

export interface DeliveryReport {
  sink: string;
  spooled: number;
  delivered: number;
  rejected: number;
  /** Events left in the spool (receiver down past the retry budget). */
  pending: number;
  /** Why delivery stopped: the reason alone (the sink is `sink`). */
  error?: string;
}

const DEFAULTS = { retryForMs: 30_000, backoffMs: 250, maxBackoffMs: 15_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function backoff(attempt: number, o: Required<Pick<DeliveryOptions, 'backoffMs' | 'maxBackoffMs'>>, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, o.maxBackoffMs);
  const base = Math.min(o.backoffMs * 2 ** Math.min(attempt, 20), o.maxBackoffMs);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

class RetryBudgetSpent extends Error {}

/** Send everything pending in `spool` through `transport`. Never throws for an outage: reports what is pending. */
export async function deliverSpool(spool: SinkSpool, transport: SinkTransport, options: DeliveryOptions = {}): Promise<Omit<DeliveryReport, 'spooled'>> {
  const lock = spool.lock();
  if ('heldBy' in lock) {
    return {
      sink: transport.label,
      delivered: 0,
      rejected: 0,
      pending: spool.pendingCount(),
      error: `another shelflife process (pid ${lock.heldBy}) is delivering to this sink; these events stay spooled for it or the next flush`,
    };
  }
  try {
    return await deliverLocked(spool, transport, options);
  } finally {
    lock.release();
  }
}

async function deliverLocked(spool: SinkSpool, transport: SinkTransport, options: DeliveryOptions): Promise<Omit<DeliveryReport, 'spooled'>> {
  const o = { ...DEFAULTS, ...options };
  const started = Date.now();
  let delivered = 0;
  let rejected = 0;
  let attempt = 0;
  spool.settle();

  /** Send one batch until the receiver took all of it (re-sending only failed items) or the budget is spent. */
  const sendBatch = async (batch: SpooledEvent[]) => {
    let todo = batch.map((_, i) => i);
    while (todo.length) {
      if (failed) throw failed;
      let result;
      try {
        result = await transport.send(todo.map((i) => batch[i]));
      } catch (e) {
        if (!(e instanceof TransientSinkError)) throw e;
        if (Date.now() - started > o.retryForMs) throw new RetryBudgetSpent(reasonAt(e, transport.label));
        const wait = backoff(attempt++, o, e.retryAfterMs);
        o.log?.(`${errorMessage(e)}; retrying in ${(wait / 1000).toFixed(1)} s`);
        await sleep(wait);
        continue;
      }
      attempt = 0;
      if (result.rejected.length) {
        spool.reject(result.rejected.map((r) => ({ line: batch[todo[r.index]].line, reason: r.reason })));
        rejected += result.rejected.length;
        o.log?.(
          `${transport.label}: receiver refused ${result.rejected.length} event(s) (kept in ${join(spool.dir, 'rejected.ndjson')}): ${result.rejected[0].reason}`,
        );
      }
      const retry = result.retry.map((i) => todo[i]);
      delivered += todo.length - retry.length - result.rejected.length;
      todo = retry;
      if (todo.length) {
        if (Date.now() - started > o.retryForMs) throw new RetryBudgetSpent(`${todo.length} event(s) still refused as transient`);
        await sleep(backoff(attempt++, o));
      }
    }
  };

  // Up to `parallelBatches` batches in flight; commits stay in spool order, so a batch is committed only after every
  // batch before it was acknowledged (no gap can ever be skipped).
  let failed: Error | undefined;
  let ordered: Promise<void> = Promise.resolve();
  const inflight = new Set<Promise<void>>();
  const launch = (batch: SpooledEvent[]) => {
    const sent = sendBatch(batch);
    const last = batch[batch.length - 1];
    const committed = Promise.all([ordered, sent]).then(() => spool.commit(last.segment, last.end, batch.length));
    committed.catch((e: Error) => {
      failed ??= e;
    });
    ordered = committed;
    inflight.add(committed);
    void committed.finally(() => inflight.delete(committed)).catch(() => {});
  };
  const window = Math.max(1, transport.parallelBatches ?? 1);

  try {
    let batch: SpooledEvent[] = [];
    let bytes = 0;
    for (const ev of spool.pending()) {
      if (batch.length && (batch.length >= transport.maxBatchEvents || bytes + ev.line.length > transport.maxBatchBytes)) {
        launch(batch);
        batch = [];
        bytes = 0;
        while (inflight.size >= window) await Promise.race(inflight).catch(() => {});
        if (failed) break;
      }
      batch.push(ev);
      bytes += ev.line.length;
    }
    if (batch.length && !failed) launch(batch);
    await Promise.allSettled([...inflight]);
    await ordered.catch(() => {});
    if (failed) throw failed;
    spool.settle();
    return { sink: transport.label, delivered, rejected, pending: 0 };
  } catch (e) {
    const pending = spool.pendingCount();
    if (e instanceof RetryBudgetSpent)
      return { sink: transport.label, delivered, rejected, pending, error: `${e.message} (gave up after ${Math.round(o.retryForMs / 1000)} s)` };
    if (e instanceof ShelflifeError) return { sink: transport.label, delivered, rejected, pending, error: reasonAt(e, transport.label) };
    throw e;
  }
}

/** What the spool records about a sink (sink.json): which sink, in which format. Nothing about credentials. */
export interface SpooledSinkRecord {
  url: string;
  format?: EventFormat;
}

export function sinkSpoolFor(config: SinkConfig, root = defaultSpoolRoot()): SinkSpool {
  validateSinkConfig(config);
  const spool = SinkSpool.open(join(root, sinkSpoolName(config.url)));
  // The URL and the format only. Not even where a token or key lives: a sink planted in the spool could otherwise
  // have `sinks flush` read any file or variable and send it to the planted URL (docs/security.md).
  const record: SpooledSinkRecord = { url: config.url, ...(config.format ? { format: config.format } : {}) };
  writeFileDurably(join(spool.dir, 'sink.json'), `${JSON.stringify(record, null, 2)}\n`);
  return spool;
}

/** The events of `result` for one sink: everything, or with onlyChanged only what changed since its baseline scan. */
async function eventsFor(
  result: ScanResult,
  spool: SinkSpool,
  onlyChanged: boolean,
  inventory: Inventory | undefined,
  log?: (l: string) => void,
): Promise<Iterable<SinkEvent>> {
  if (!onlyChanged) return eventsOfScan(result);
  // The baseline is the last scan handed to this sink: still spooled, or delivered. Diffing from an older delivered
  // scan would send the pending scan's changes twice.
  const baseline = spool.segments().at(-1)?.scanId ?? spool.state().lastDeliveredScan;
  if (!baseline) {
    log?.('--only-changed: nothing delivered to this sink yet; sending every finding as the baseline');
    return eventsOfScan(result);
  }
  if (!inventory) {
    // Unchanged findings sent again are a nuisance; changes never sent are a loss. Without the inventory, send all.
    log?.('--only-changed: the inventory is unavailable; sending every finding');
    return eventsOfScan(result);
  }
  let previous: ScanResult;
  try {
    previous = await inventory.loadScan(baseline);
  } catch {
    log?.(`--only-changed: the last delivered scan ${baseline} is no longer in the inventory; sending every finding`);
    return eventsOfScan(result);
  }
  const diff = await inventory.diff(baseline, result.scan.id);
  return changedEventsOfScan(result, previous, diff);
}

export interface SinkRunOptions extends DeliveryOptions {
  onlyChanged?: boolean;
  inventory?: Inventory;
  spoolRoot?: string;
}

/** Spool this scan's events for every sink (durably), then deliver each sink's whole backlog. */
export async function spoolAndDeliver(result: ScanResult, sinks: SinkConfig[], options: SinkRunOptions = {}): Promise<DeliveryReport[]> {
  const reports: DeliveryReport[] = [];
  // Every transport is built (and its secret read) before anything is spooled: a missing token is a usage error now,
  // not a surprise at flush time.
  const transports = sinks.map((c) => createTransport(c, options));
  try {
    const spooled: { spool: SinkSpool; count: number }[] = [];
    for (const c of sinks) {
      const spool = sinkSpoolFor(c, options.spoolRoot);
      const events = await eventsFor(result, spool, !!options.onlyChanged, options.inventory, options.log);
      spooled.push({ spool, count: spool.append(result.scan.id, events) });
    }
    for (let i = 0; i < sinks.length; i++) {
      const r = await deliverSpool(spooled[i].spool, transports[i], options);
      reports.push({ ...r, spooled: spooled[i].count });
    }
  } finally {
    await Promise.all(transports.map((t) => t.close()));
  }
  return reports;
}

/** A sink directory of the spool: usable, or refused (another user could have written it) with the reason (naming the file when it is one inside). */
export type SpooledSink = { dir: string; record: SpooledSinkRecord; spool: SinkSpool } | { dir: string; refused: string };

/** Read sink.json: the URL (checked like a --sink) and the format; any other key (older spools kept more) is ignored. */
function readSinkRecord(dir: string): SpooledSinkRecord | undefined {
  const p = join(dir, 'sink.json');
  const text = readPrivateFile(p, 64 * 1024);
  if (text === undefined) return undefined;
  let raw: { url?: unknown; format?: unknown };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch (e) {
    throw new ShelflifeError('sink', `unreadable sink description: ${errorMessage(e)}`, { uri: p });
  }
  if (typeof raw.url !== 'string') throw new ShelflifeError('sink', 'no sink URL', { uri: p });
  const format = EVENT_FORMATS.find((f) => f === raw.format);
  const record: SpooledSinkRecord = { url: raw.url, ...(format ? { format } : {}) };
  validateSinkConfig(record);
  return record;
}

/**
 * The sinks with a spool under `root`. The root must be the user's and not group/world-writable (else SpoolRefused
 * is thrown); a sink directory that is not, or whose files are not, is listed as refused and never delivered.
 */
export function listSpooledSinks(root = defaultSpoolRoot()): SpooledSink[] {
  if (!openSpoolRoot(root, false)) return [];
  const out: SpooledSink[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    try {
      const spool = SinkSpool.existing(dir);
      const record = readSinkRecord(dir);
      if (record) out.push({ dir, record, spool });
    } catch (e) {
      if (!(e instanceof SpoolRefused)) throw e;
      out.push({ dir, refused: reasonAt(e, dir) });
    }
  }
  return out;
}

export interface FlushOptions extends DeliveryOptions {
  spoolRoot?: string;
  /** Deliver only these sink URLs (default: every spooled sink). */
  only?: string[];
  /**
   * The user's own sink configurations (flags of `sinks flush`, the config's `scan.sinks`), matched to spooled sinks
   * by URL: the only place a token, CA or client certificate comes from. A spooled sink that needs a token and has
   * none here stays spooled, with an error saying how to give it.
   */
  sinks?: SinkConfig[];
}

/** `shelflife sinks flush`: deliver every spooled backlog (or only the sinks named), with the caller's credentials. */
export async function flushSinks(options: FlushOptions = {}): Promise<DeliveryReport[]> {
  const reports: DeliveryReport[] = [];
  for (const s of listSpooledSinks(options.spoolRoot)) {
    if ('refused' in s) {
      reports.push({ sink: s.dir, spooled: 0, delivered: 0, rejected: 0, pending: 0, error: s.refused });
      continue;
    }
    if (options.only?.length && !options.only.includes(s.record.url)) continue;
    const mine = options.sinks?.find((c) => c.url === s.record.url);
    const config: SinkConfig = { ...s.record, ...mine, url: s.record.url };
    let transport: SinkTransport;
    try {
      transport = createTransport(config, options);
    } catch (e) {
      const reason = reasonAt(e, s.record.url);
      const needsToken = !mine && /needs a token/.test(reason);
      const error = needsToken
        ? `${reason}; the spool never holds credentials: give them to \`sinks flush --sink ${s.record.url} --sink-token-env NAME\` (or --sink-token-file), or list the sink in the config's scan.sinks`
        : reason;
      reports.push({ sink: s.record.url, spooled: 0, delivered: 0, rejected: 0, pending: s.spool.pendingCount(), error });
      continue;
    }
    try {
      reports.push({ ...(await deliverSpool(s.spool, transport, options)), spooled: 0 });
    } catch (e) {
      // A file swapped or opened up since the listing: refused on the open descriptor, nothing more is sent.
      if (!(e instanceof SpoolRefused)) throw e;
      reports.push({ sink: s.record.url, spooled: 0, delivered: 0, rejected: 0, pending: 0, error: reasonAt(e, s.record.url) });
    } finally {
      await transport.close();
    }
  }
  return reports;
}
