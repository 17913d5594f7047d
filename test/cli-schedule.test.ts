/** The scheduling examples in deploy/ are well-formed and `shelflife schedule` prints them for a given config. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { scheduleFiles } from '../src/cli/schedule-command.js';

const DEPLOY = join(import.meta.dirname, '..', 'deploy');

describe('schedules', () => {
  it('cron: one job line with five time fields, a user and the scan command', () => {
    const jobs = readFileSync(join(DEPLOY, 'cron', 'shelflife.cron'), 'utf8')
      .split('\n')
      .filter((l) => /^\d/.test(l));
    expect(jobs).toHaveLength(1);
    const fields = jobs[0].split(/\s+/);
    expect(fields.slice(0, 5)).toEqual(['17', '2', '*', '*', '*']);
    expect(fields[5]).toBe('shelflife');
    expect(jobs[0]).toContain('shelflife scan --config /etc/shelflife/shelflife.config.yaml');
  });

  it('systemd: a oneshot service started by a persistent timer', () => {
    const service = readFileSync(join(DEPLOY, 'systemd', 'shelflife-scan.service'), 'utf8');
    const timer = readFileSync(join(DEPLOY, 'systemd', 'shelflife-scan.timer'), 'utf8');
    expect(service).toMatch(/^Type=oneshot$/m);
    expect(service).toMatch(/^ExecStart=\/usr\/local\/bin\/shelflife scan --config \S+ --quiet$/m);
    expect(service).toMatch(/^NoNewPrivileges=true$/m);
    expect(timer).toMatch(/^OnCalendar=\*-\*-\* 02:17:00$/m);
    expect(timer).toMatch(/^Persistent=true$/m);
  });

  it('kubernetes: a CronJob that never overlaps and keeps its inventory on a volume', () => {
    const docs = parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes', 'cronjob.yaml'), 'utf8')).map((d) => d.toJS());
    const cj = docs.find((d) => d.kind === 'CronJob');
    expect(cj.apiVersion).toBe('batch/v1');
    expect(cj.spec.concurrencyPolicy).toBe('Forbid');
    const pod = cj.spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].command).toEqual(['npx', '--yes', 'shelflife', 'scan', '--config', '/etc/shelflife/shelflife.config.yaml', '--quiet']);
    expect(pod.volumes.find((v: { name: string }) => v.name === 'state').persistentVolumeClaim.claimName).toBe('shelflife-inventory');
    expect(docs.some((d) => d.kind === 'PersistentVolumeClaim')).toBe(true);
  });

  it('kubernetes-queue: workers that finish their units on SIGTERM, and a producer that enqueues and returns', () => {
    const files = scheduleFiles('kubernetes-queue', '/srv/conf/shelflife.yaml');
    expect(files.map((f) => f.path)).toEqual(['kubernetes/workers.yaml', 'kubernetes/producer-cronjob.yaml']);
    const [workers, producer] = files.map((f) => parseAllDocuments(f.text).map((d) => d.toJS())[0]);
    expect(workers.kind).toBe('Deployment');
    const pod = workers.spec.template.spec;
    expect(pod.containers[0].command).toEqual(['npx', '--yes', 'shelflife', 'worker', '--concurrency', '1']);
    // Longer than the default lock duration, so a unit in hand is finished before the pod is killed.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(120);
    expect(pod.containers[0].env.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['SHELFLIFE_DB', 'SHELFLIFE_QUEUE']));
    expect(producer.kind).toBe('CronJob');
    const command = producer.spec.jobTemplate.spec.template.spec.containers[0].command.join(' ');
    expect(command).toContain('shelflife scan --config /srv/conf/shelflife.yaml --queue "$SHELFLIFE_QUEUE" --detach');
  });

  it('`schedule` substitutes the config path and rejects unknown kinds', () => {
    const files = scheduleFiles('systemd', '/srv/conf/shelflife.yaml');
    expect(files.map((f) => f.path)).toEqual(['systemd/shelflife-scan.service', 'systemd/shelflife-scan.timer']);
    expect(files[0].text).toContain('--config /srv/conf/shelflife.yaml');
    expect(() => scheduleFiles('windows-task')).toThrow(/unknown kind/);
  });
});
