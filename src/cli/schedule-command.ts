/**
 * `shelflife schedule <cron|systemd|kubernetes>`: print a ready-to-install schedule for `scan --config`, from the
 * examples shipped in deploy/ (documented in docs/schedule.md).
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';

const FILES: Record<string, string[]> = {
  cron: ['cron/shelflife.cron'],
  systemd: ['systemd/shelflife-scan.service', 'systemd/shelflife-scan.timer'],
  kubernetes: ['kubernetes/cronjob.yaml'],
  // Distributed scans (docs/scale-out.md): workers, and the nightly producer that enqueues for them.
  'kubernetes-queue': ['kubernetes/workers.yaml', 'kubernetes/producer-cronjob.yaml'],
};

export function deployDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      readFileSync(join(dir, 'deploy', 'cron', 'shelflife.cron'));
      return join(dir, 'deploy');
    } catch {
      // keep climbing
    }
  }
  throw new UsageError('cannot find the deploy/ examples next to this installation');
}

export function scheduleFiles(kind: string, config?: string): { path: string; text: string }[] {
  const files = FILES[kind];
  if (!files) throw new UsageError(`schedule: unknown kind "${kind}" (choose ${Object.keys(FILES).join(', ')})`);
  const base = deployDir();
  return files.map((f) => {
    let text = readFileSync(join(base, f), 'utf8');
    if (config) text = text.replaceAll('/etc/shelflife/shelflife.config.yaml', resolve(config));
    return { path: f, text };
  });
}

export function registerSchedule(program: Command): void {
  program
    .command('schedule')
    .description('print a schedule (cron line, systemd timer + service, or Kubernetes CronJob) that runs `scan --config`')
    .argument('<kind>', Object.keys(FILES).join(' | '))
    .option('--config <file>', 'the shelflife.config.yaml the scheduled scan uses', '/etc/shelflife/shelflife.config.yaml')
    .action((kind: string, opts: { config: string }) => {
      for (const f of scheduleFiles(kind, opts.config)) process.stdout.write(`# ---- ${f.path}\n${f.text}${f.text.endsWith('\n') ? '' : '\n'}`);
    });
}
