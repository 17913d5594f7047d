/** Splunk HEC and Elasticsearch _bulk sinks against the local receivers of test/helpers/receivers.ts. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spoolAndDeliver, flushSinks, listSpooledSinks } from '../../src/sinks/deliver.js';
import { eventsOfScan } from '../../src/report/event.js';
import { parseSinkUrl } from '../../src/sinks/config.js';
import { startBulkReceiver, startHecReceiver, type Receiver } from '../helpers/receivers.js';
import { sampleScan } from '../helpers/sample-scan.js';
import { validateComplianceFinding } from '../helpers/ocsf-schema.js';

const TOKEN = 'b2a4c0de-1111-2222-3333-444455556666';
const spoolRoot = () => mkdtempSync(join(tmpdir(), 'shelflife-sinks-'));
const fast = { backoffMs: 20, maxBackoffMs: 200, retryForMs: 10_000, ackPollMs: 10 };
const open: Receiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
  delete process.env.SHELFLIFE_TEST_HEC_TOKEN;
});

describe('Splunk HEC', () => {
  it('batches events to /services/collector/event with the Splunk token and a request channel', async () => {
    const hec = await startHecReceiver({ token: TOKEN });
    open.push(hec);
    process.env.SHELFLIFE_TEST_HEC_TOKEN = TOKEN;
    const scan = sampleScan(1200, 1);
    const [r] = await spoolAndDeliver(scan, [{ url: `hec+${hec.url}?index=security`, tokenEnv: 'SHELFLIFE_TEST_HEC_TOKEN' }], {
      spoolRoot: spoolRoot(),
      ...fast,
    });
    expect(r).toMatchObject({ spooled: 2400, delivered: 2400, pending: 0 });
    expect(hec.requests.map((q) => q.events)).toEqual([1000, 1000, 400]);
    expect(new Set(hec.requests.map((q) => q.channel)).size).toBe(1);
    expect(hec.events).toHaveLength(2400);
    expect(hec.events[0]).toMatchObject({ index: 'security', source: 'shelflife', sourcetype: 'shelflife:finding' });
    expect(new Set(hec.events.map((e) => (e.event as { id: string }).id))).toEqual(new Set([...eventsOfScan(scan)].map((e) => e.id)));
  });

  it('waits for indexer acknowledgment before committing', async () => {
    const hec = await startHecReceiver({ token: TOKEN, ack: true, ackAfterPolls: 3 });
    open.push(hec);
    const tokenFile = join(spoolRoot(), 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const [r] = await spoolAndDeliver(sampleScan(10, 1), [{ url: `hec+${hec.url}`, tokenFile, format: 'ocsf' }], { spoolRoot: spoolRoot(), ...fast });
    expect(r).toMatchObject({ delivered: 20, pending: 0 });
    expect(hec.ackQueries).toBe(3);
    expect(hec.events).toHaveLength(20);
    for (const e of hec.events) expect(validateComplianceFinding(e.event as Record<string, unknown>)).toEqual([]);
  });

  it('retries a busy server, keeps a refused event aside and re-sends only those after it', async () => {
    const hec = await startHecReceiver({ token: TOKEN });
    open.push(hec);
    process.env.SHELFLIFE_TEST_HEC_TOKEN = TOKEN;
    const scan = sampleScan(5, 1);
    const events = [...eventsOfScan(scan)];
    hec.refuse.add(events[3].id);
    hec.failNext(2, 503, { text: 'Server is busy', code: 9 });
    const root = spoolRoot();
    const [r] = await spoolAndDeliver(scan, [{ url: `hec+${hec.url}`, tokenEnv: 'SHELFLIFE_TEST_HEC_TOKEN' }], { spoolRoot: root, ...fast });
    expect(r).toMatchObject({ delivered: 9, rejected: 1, pending: 0 });
    expect(hec.events.map((e) => (e.event as { id: string }).id)).toEqual(events.filter((_, i) => i !== 3).map((e) => e.id));
    const [sink] = listSpooledSinks(root);
    expect(JSON.parse(readFileSync(join(sink.dir, 'rejected.ndjson'), 'utf8'))).toMatchObject({
      reason: 'HTTP 400: Invalid data format (code 6)',
      event: { id: events[3].id },
    });
  });

  it('a wrong token keeps everything spooled and never shows the token', async () => {
    const hec = await startHecReceiver({ token: TOKEN });
    open.push(hec);
    process.env.SHELFLIFE_TEST_HEC_TOKEN = 'wrong-secret-value';
    const root = spoolRoot();
    const [r] = await spoolAndDeliver(sampleScan(2, 1), [{ url: `hec+${hec.url}`, tokenEnv: 'SHELFLIFE_TEST_HEC_TOKEN' }], { spoolRoot: root, ...fast });
    expect(r).toMatchObject({ delivered: 0, pending: 4 });
    expect(r.error).toMatch(/HTTP 403: Invalid token/);
    expect(JSON.stringify(r)).not.toContain('wrong-secret-value');
    const [sink] = listSpooledSinks(root);
    expect(readFileSync(join(sink.dir, 'sink.json'), 'utf8')).not.toContain('wrong-secret-value');
    // Fixed token: flush, given it again (the spool never holds credentials), delivers the backlog.
    process.env.SHELFLIFE_TEST_HEC_TOKEN = TOKEN;
    const [f] = await flushSinks({ spoolRoot: root, sinks: [{ url: `hec+${hec.url}`, tokenEnv: 'SHELFLIFE_TEST_HEC_TOKEN' }], ...fast });
    expect(f).toMatchObject({ delivered: 4, pending: 0 });
    expect(hec.events).toHaveLength(4);
  });
});

describe('Elasticsearch _bulk', () => {
  it('creates ECS documents under the event id, batched', async () => {
    const es = await startBulkReceiver({ apiKey: 'a2V5OnNlY3JldA==' });
    open.push(es);
    process.env.SHELFLIFE_TEST_HEC_TOKEN = 'a2V5OnNlY3JldA==';
    const scan = sampleScan(600, 1);
    const [r] = await spoolAndDeliver(scan, [{ url: `elastic+${es.url}/shelflife-findings`, tokenEnv: 'SHELFLIFE_TEST_HEC_TOKEN' }], {
      spoolRoot: spoolRoot(),
      ...fast,
    });
    expect(r).toMatchObject({ delivered: 1200, pending: 0 });
    expect(es.requests.map((q) => q.actions)).toEqual([1000, 200]);
    const [e] = eventsOfScan(scan);
    expect(es.docs.get(`shelflife-findings/${e.id}`)).toMatchObject({ event: { id: e.id, kind: 'state' }, file: { hash: { sha256: e.artifact.sha256 } } });
  });

  it('partial failures: re-sends only the failed items; refused items are kept aside; re-delivery is idempotent', async () => {
    const es = await startBulkReceiver({});
    open.push(es);
    const scan = sampleScan(5, 1);
    const ids = [...eventsOfScan(scan)].map((e) => e.id);
    es.itemFailures.set(ids[1], { status: 429, type: 'es_rejected_execution_exception', times: 2 });
    es.itemFailures.set(ids[4], { status: 400, type: 'mapper_parsing_exception', times: 99 });
    const root = spoolRoot();
    const url = `elastic+${es.url}/findings`;
    const [r] = await spoolAndDeliver(scan, [{ url }], { spoolRoot: root, ...fast });
    expect(r).toMatchObject({ delivered: 9, rejected: 1, pending: 0 });
    expect(es.requests.map((q) => q.actions)).toEqual([10, 1, 1]);
    expect(es.docs.size).toBe(9);
    // The same scan spooled again (e.g. a crash after sending, before committing): 409s count as delivered.
    const [again] = await spoolAndDeliver(scan, [{ url }], { spoolRoot: root, ...fast });
    expect(again).toMatchObject({ delivered: 9, rejected: 1, pending: 0 });
    expect(es.docs.size).toBe(9);
  });

  it('a receiver that is down keeps events spooled; flush delivers them', async () => {
    const es = await startBulkReceiver({});
    const url = `elastic+${es.url}/findings`;
    await es.close();
    const root = spoolRoot();
    const [down] = await spoolAndDeliver(sampleScan(3, 1), [{ url }], { spoolRoot: root, ...fast, retryForMs: 200 });
    expect(down).toMatchObject({ delivered: 0, pending: 6 });
    expect(down.error).toMatch(/ECONNREFUSED/);
    // The receiver comes back on the same port.
    const back = await startBulkReceiver({ port: Number(new URL(es.url).port) });
    open.push(back);
    const [f] = await flushSinks({ spoolRoot: root, ...fast });
    expect(f).toMatchObject({ delivered: 6, pending: 0 });
    expect(back.docs.size).toBe(6);
  });
});

describe('sink URLs and secrets', () => {
  it('refuse credentials in URLs, plain HTTP off loopback, and unknown schemes', () => {
    expect(() => parseSinkUrl('hec+https://user:secret@splunk:8088')).toThrow(/credentials in the URL are refused/);
    expect(() => parseSinkUrl('hec+http://splunk.example:8088')).toThrow(/plain HTTP/);
    expect(() => parseSinkUrl('syslog://x')).toThrow(/syslog\+udp/);
    expect(() => parseSinkUrl('elastic+https://es:9200')).toThrow(/name the index/);
    expect(() => parseSinkUrl('elastic+https://es:9200/Bad*Index')).toThrow(/not a valid Elasticsearch index/);
    expect(parseSinkUrl('syslog+tls://siem.example')).toMatchObject({ port: 6514 });
    expect(parseSinkUrl('elastic+https://es.example:9200/shelflife-findings')).toMatchObject({ base: 'https://es.example:9200', index: 'shelflife-findings' });
  });
});
