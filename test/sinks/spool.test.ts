import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventsOfScan } from '../../src/report/event.js';
import { SinkSpool } from '../../src/sinks/spool.js';
import { sampleScan } from '../helpers/sample-scan.js';

const fresh = () => SinkSpool.open(join(mkdtempSync(join(tmpdir(), 'shelflife-spool-')), 'sink'));

describe('spool', () => {
  it('appends a segment per scan, streams what is pending, and resumes from the committed offset', () => {
    const spool = fresh();
    const a = sampleScan(3, 1, 'scan-a');
    const b = sampleScan(2, 1, 'scan-b');
    expect(spool.append('scan-a', eventsOfScan(a))).toBe(6);
    expect(spool.append('scan-b', eventsOfScan(b))).toBe(4);
    const pending = [...spool.pending()];
    expect(pending.map((p) => p.event.scan.id)).toEqual([...Array(6).fill('scan-a'), ...Array(4).fill('scan-b')]);
    spool.commit(pending[3].segment, pending[3].end, 4);
    const rest = [...spool.pending()];
    expect(rest.map((p) => p.event.id)).toEqual(pending.slice(4).map((p) => p.event.id));
    expect(spool.state().lastDeliveredScan).toBeNull();
    spool.commit(pending[5].segment, pending[5].end, 2);
    expect(spool.state().lastDeliveredScan).toBe('scan-a');
    expect(spool.segments().map((s) => s.scanId)).toEqual(['scan-b']);
    spool.commit(pending[9].segment, pending[9].end, 4);
    expect(spool.state()).toMatchObject({ lastDeliveredScan: 'scan-b', delivered: 10 });
    expect([...spool.pending()]).toEqual([]);
    expect(readdirSync(spool.dir).filter((f) => f.endsWith('.ndjson'))).toEqual([]);
    // A later scan after everything was delivered and removed is pending again, not taken for acknowledged.
    spool.append('scan-c', eventsOfScan(sampleScan(1, 1, 'scan-c')));
    expect([...spool.pending()].map((p) => p.event.scan.id)).toEqual(['scan-c', 'scan-c']);
    expect(spool.segments()[0].seq).toBe(3);
  });

  it('an empty scan becomes the baseline only after everything before it is delivered', () => {
    const spool = fresh();
    spool.append('scan-a', eventsOfScan(sampleScan(1)));
    spool.append('scan-empty', []);
    spool.settle();
    expect(spool.state().lastDeliveredScan).toBeNull();
    const p = [...spool.pending()];
    spool.commit(p[1].segment, p[1].end, 2);
    expect(spool.state().lastDeliveredScan).toBe('scan-empty');
  });

  it('reads large spools in chunks across line boundaries', () => {
    const spool = fresh();
    const n = spool.append('big', eventsOfScan(sampleScan(2000, 1)));
    let count = 0;
    let last = 0;
    for (const p of spool.pending()) {
      expect(p.end).toBeGreaterThan(last);
      last = p.end;
      count++;
    }
    expect(count).toBe(n);
    expect(last).toBe(readFileSync(join(spool.dir, spool.segments()[0].name)).length);
  });

  it('a half-written segment (crash during append) is invisible; a corrupt line is a clear error', () => {
    const spool = fresh();
    writeFileSync(join(spool.dir, '000000000001-x.ndjson.partial'), '{"v":1');
    expect([...spool.pending()]).toEqual([]);
    writeFileSync(join(spool.dir, '000000000002-y.ndjson'), '{not json}\n');
    expect(() => [...spool.pending()].map((p) => p.event)).toThrow(
      expect.objectContaining({ uri: expect.stringMatching(/000000000002-y\.ndjson$/), message: 'corrupt spool line at byte 0' }),
    );
  });

  it('keeps refused events with the reason', () => {
    const spool = fresh();
    spool.append('s', eventsOfScan(sampleScan(1)));
    const [p] = spool.pending();
    spool.reject([{ line: p.line, reason: '400 mapper_parsing_exception' }]);
    const kept = JSON.parse(readFileSync(join(spool.dir, 'rejected.ndjson'), 'utf8'));
    expect(kept).toMatchObject({ reason: '400 mapper_parsing_exception', event: { id: p.event.id } });
    expect(spool.state().rejected).toBe(1);
    expect(existsSync(join(spool.dir, 'state.json'))).toBe(true);
  });

  it('segments never share a name; one delivering process per sink, stale locks are taken over', () => {
    const spool = fresh();
    spool.append('same', eventsOfScan(sampleScan(1, 1, 'same')));
    spool.append('same', eventsOfScan(sampleScan(1, 1, 'same')));
    expect(spool.segments().map((s) => s.seq)).toEqual([1, 2]);
    expect(readdirSync(spool.dir).filter((f) => f.startsWith('.partial'))).toEqual([]);
    writeFileSync(join(spool.dir, 'deliver.lock'), String(process.ppid));
    expect(spool.lock()).toEqual({ heldBy: process.ppid });
    writeFileSync(join(spool.dir, 'deliver.lock'), '2147483646');
    const taken = spool.lock();
    expect('release' in taken).toBe(true);
    expect(readFileSync(join(spool.dir, 'deliver.lock'), 'utf8')).toBe(String(process.pid));
    if ('release' in taken) taken.release();
    expect(existsSync(join(spool.dir, 'deliver.lock'))).toBe(false);
  });
});
