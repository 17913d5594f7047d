/** What the transports add around an event: RFC 5424 header and RFC 6587 octet counting (syslog), the HEC envelope. */
import { describe, expect, it } from 'vitest';
import { eventsOfScan } from '../../src/report/event.js';
import { hecEvent } from '../../src/sinks/hec.js';
import { octetFrame, toSyslog } from '../../src/sinks/syslog.js';
import { sampleScan } from '../helpers/sample-scan.js';

describe('RFC 5424 and RFC 6587 framing', () => {
  it('builds PRI, version, timestamp, app, msgid and the origin SD element', () => {
    const [e] = eventsOfScan(sampleScan(1));
    const msg = toSyslog(e, 'cef');
    // facility 10 (security/authorization) × 8 + severity 3 (error) for "high"
    expect(msg).toMatch(/^<83>1 2026-11-28T10:05:00\.000Z \S+ shelflife \d+ finding \[origin software="shelflife" swVersion="[^"]+"\] CEF:0\|/);
  });

  it('counts octets, not characters', () => {
    expect(octetFrame('é|x')).toBe('4 é|x');
  });
});

describe('HEC envelope', () => {
  it('HEC events carry time in epoch seconds, source, sourcetype and the event', () => {
    const [e] = eventsOfScan(sampleScan(1));
    const h = hecEvent(e, { format: 'json', index: 'sec' });
    expect(h).toMatchObject({ time: Date.parse(e.time) / 1000, source: 'shelflife', sourcetype: 'shelflife:finding', index: 'sec', event: { id: e.id } });
    expect(hecEvent(e, { format: 'ocsf' })).toMatchObject({ sourcetype: 'ocsf:compliance_finding', event: { class_uid: 2003 } });
  });
});
