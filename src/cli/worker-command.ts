/**
 * `shelflife worker --queue URL` and `shelflife queue status|retry|drain`: distributed scans (src/queue/).
 * @module
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { defaultInventoryPath } from '../inventory/paths.js';
import { displayText, safeJson } from '../report/text.js';
import { EXIT } from './exit.js';

interface QueueFlags {
  queue?: string;
  queueName?: string;
}

function queueUrl(opts: QueueFlags): string {
  const url = opts.queue ?? process.env.SHELFLIFE_QUEUE;
  if (!url) throw new UsageError('--queue <postgres://…|redis://…> is required (or $SHELFLIFE_QUEUE)');
  return url;
}

function positive(v: string | undefined, flag: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new UsageError(`${flag} must be a number above 0 (at most ${max})`);
  return n;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('take scan work units off a queue and record what they hold in the shared inventory (until SIGTERM)')
    .option('--queue <url>', 'the queue: postgres://… or redis://… (default $SHELFLIFE_QUEUE)')
    .option('--queue-name <name>', 'queue name within that database or Redis (default shelflife)')
    .option('--db <path>', `the shared inventory the scans are recorded in (default ${defaultInventoryPath()}, or $SHELFLIFE_DB)`)
    .option('--concurrency <n>', 'units scanned at once by this process (default 1: one core)')
    .option('--lock-duration <seconds>', 'how long a unit stays with this worker without a lock renewal (default 120)')
    .option('--stalled-interval <seconds>', 'how often units of dead workers are looked for (default 30)')
    .action(async (opts: QueueFlags & { db?: string; concurrency?: string; lockDuration?: string; stalledInterval?: string }) => {
      const concurrency = positive(opts.concurrency, '--concurrency', 256);
      if (concurrency !== undefined && !Number.isInteger(concurrency)) throw new UsageError('--concurrency must be a whole number');
      const lock = positive(opts.lockDuration, '--lock-duration', 86_400);
      const stalled = positive(opts.stalledInterval, '--stalled-interval', 86_400);
      const { Inventory } = await import('../inventory/inventory.js');
      const { startWorker } = await import('../queue/worker.js');
      const inventory = await Inventory.open(opts.db ?? defaultInventoryPath());
      const log = (line: string) => process.stderr.write(`shelflife worker: ${displayText(line)}\n`);
      const worker = await startWorker({
        queue: queueUrl(opts),
        queueName: opts.queueName,
        inventory,
        concurrency,
        ...(lock ? { lockDuration: Math.round(lock * 1000) } : {}),
        ...(stalled ? { stalledInterval: Math.round(stalled * 1000) } : {}),
        log,
      });
      log(`ready (pid ${process.pid}, concurrency ${concurrency ?? 1})`);
      // SIGTERM (Kubernetes, systemd): finish the units in hand, then exit. A second signal releases them at once;
      // BullMQ hands them to another worker when their locks lapse.
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) {
            log(`${signal} again: releasing the units in hand`);
            void worker.close(true).then(resolve, resolve);
            return;
          }
          stopping = true;
          log(`${signal}: finishing the units in hand`);
          void worker.close().then(resolve, resolve);
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      });
      await inventory.close();
      log(`stopped: ${worker.stats.completed} jobs done, ${worker.stats.failed} failed attempts`);
      process.exitCode = EXIT.OK;
    });
}

export function registerQueue(program: Command): void {
  const queue = program.command('queue').description('what a scan queue holds: status, retry failed units, drain');
  const flags = (c: Command) =>
    c
      .option('--queue <url>', 'the queue: postgres://… or redis://… (default $SHELFLIFE_QUEUE)')
      .option('--queue-name <name>', 'queue name (default shelflife)');
  flags(queue.command('status').description('jobs waiting, running, delayed and failed; workers; rates; recent failures'))
    .option('--format <format>', 'table or json', 'table')
    .action(async (opts: QueueFlags & { format: string }) => {
      const { queueStatus } = await import('../queue/admin.js');
      const s = await queueStatus(queueUrl(opts), opts.queueName);
      if (opts.format === 'json') {
        process.stdout.write(`${safeJson(s)}\n`);
        return;
      }
      const c = s.counts;
      const lines = [
        `queue ${s.name} on ${s.queue}: ${s.workers} worker connection(s)`,
        `  waiting ${c.waiting} · active ${c.active} · delayed ${c.delayed} · waiting for units ${c.waitingChildren} · completed ${c.completed} · failed ${c.failed}`,
        `  units finished per minute: ${s.rate.completed1m.toFixed(1)} (last minute), ${s.rate.completed15m.toFixed(1)} (last 15); failed ${s.rate.failed15m.toFixed(1)}/min`,
        ...(s.failures.length ? ['  recent failures:'] : []),
        ...s.failures.map((f) => `    ${f.uri} (scan ${f.scanId ?? '?'}, ${f.attempts} attempts): ${f.reason}`),
      ];
      process.stdout.write(`${lines.map(displayText).join('\n')}\n`);
    });
  flags(queue.command('retry').description('put every failed unit back in the queue (a recorded scan is amended as they finish)')).action(
    async (opts: QueueFlags) => {
      const { retryFailed } = await import('../queue/admin.js');
      process.stdout.write(
        `${await retryFailed(queueUrl(opts), opts.queueName)} failed unit(s) queued again; a scan already recorded is amended as they finish\n`,
      );
    },
  );
  flags(queue.command('drain').description('remove the waiting and delayed units (running ones finish)')).action(async (opts: QueueFlags) => {
    const { drainQueue } = await import('../queue/admin.js');
    process.stdout.write(`${await drainQueue(queueUrl(opts), opts.queueName)} unit(s) removed\n`);
  });
}
