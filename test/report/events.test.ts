/** The event model (stable ids, bounded fields) and the event formats rendered from it: CEF and ECS (OCSF in ocsf.test.ts). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cefExtensionEscape, cefHeaderEscape, toCef } from '../../src/report/cef.js';
import { parseCef } from '../helpers/cef.js';
import { toEcs } from '../../src/report/ecs.js';
import { eventsOfScan } from '../../src/report/event.js';
import { displayText } from '../../src/report/text.js';
import { HOSTILE, sampleScan } from '../helpers/sample-scan.js';

describe('CEF:0', () => {
  it('escapes backslash and pipe in header fields, and turns line breaks into spaces', () => {
    expect(cefHeaderEscape('a|b\\c')).toBe('a\\|b\\\\c');
    expect(cefHeaderEscape('x\r\ny\nz')).toBe('x y z');
    expect(cefHeaderEscape('k=v')).toBe('k=v');
  });

  it('escapes backslash, equals and line breaks in extension values (and leaves pipes alone)', () => {
    expect(cefExtensionEscape('a=b\\c|d')).toBe('a\\=b\\\\c|d');
    expect(cefExtensionEscape('l1\r\nl2\nl3\rl4')).toBe('l1\\r\\nl2\\nl3\\rl4');
  });

  it('round-trips every field of a hostile event through the escaping', () => {
    const [finding, artifact] = [...eventsOfScan(sampleScan(1))];
    const line = toCef(finding);
    expect(line).not.toMatch(/[\r\n]/);
    const { header, extension } = parseCef(line);
    expect(header.slice(0, 5)).toEqual(['CEF:0', 'shelflife', 'shelflife', header[3], 'shelflife:finding:certificate']);
    expect(header[6]).toBe('8');
    expect(extension.externalId).toBe(finding.id);
    expect(extension.msg).toBe(finding.exposure.explanation);
    expect(extension.msg).toContain(HOSTILE);
    expect(extension.cs6).toBe(finding.finding!.subject);
    expect(extension.cs6Label).toBe('subject');
    expect(extension.cs3).toBe('NIST IR 8547: disallows RSA-2048 after 2035; CNSA 2.0: software signing by 2030');
    expect(extension.cn2).toBe('3');
    expect(extension.fileHash).toBe(finding.artifact.sha256);
    expect(extension.rt).toBe(String(Date.parse('2026-11-28T10:05:00.000Z')));
    expect(parseCef(toCef(artifact)).header[4]).toBe('shelflife:artifact');
  });

  it('round-trips arbitrary strings, with control and bidi characters shown as text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (name, value) => {
        const line = `CEF:0|v|p|1|id|${cefHeaderEscape(name)}|5|msg=${cefExtensionEscape(value)} cs1=x`;
        const parsed = parseCef(line);
        expect(parsed.header[5]).toBe(displayText(name.replace(/\r\n|[\r\n]/g, ' ')));
        // CR and LF have CEF escapes and come back as themselves; every other control or bidi character as its escape.
        expect(parsed.extension.msg).toBe(
          value
            .split(/(\r|\n)/)
            .map((p) => (p === '\r' || p === '\n' ? p : displayText(p)))
            .join(''),
        );
        expect(parsed.extension.cs1).toBe('x');
        expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('event ids', () => {
  it('are stable for the same scan and differ across scans and findings', () => {
    const s = sampleScan(3, 2, 'scan-a');
    const a = [...eventsOfScan(s)].map((e) => e.id);
    const b = [...eventsOfScan(s)].map((e) => e.id);
    const c = [...eventsOfScan({ ...s, scan: { ...s.scan, id: 'scan-b' } })].map((e) => e.id);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
    expect(a.filter((id) => c.includes(id))).toEqual([]);
    expect(a).toHaveLength(9);
  });

  it('carry score, severity, explanation, URI, class, deadlines and copies', () => {
    const [e] = eventsOfScan(sampleScan(1));
    expect(e).toMatchObject({
      type: 'finding',
      artifact: { uri: 'file:///srv/fw/image-0.bin', class: 'firmware', copies: 3 },
      exposure: { score: 72.5, severity: 'high' },
    });
    expect(e.exposure.deadlinesMissed).toHaveLength(2);
  });

  it('bound hostile field lengths', () => {
    const s = sampleScan(1);
    s.artifacts[0].findings[0].subject = 'x'.repeat(1_000_000);
    const [e] = eventsOfScan(s);
    expect(e.finding!.subject!.length).toBeLessThanOrEqual(4096);
  });
});

describe('ECS documents', () => {
  it('ECS documents use ECS field names', () => {
    const [e] = eventsOfScan(sampleScan(1));
    const d = toEcs(e) as Record<string, any>;
    expect(d['@timestamp']).toBe(e.time);
    expect(d.event).toMatchObject({ id: e.id, kind: 'state', category: ['vulnerability'], risk_score: 72.5, severity: 73 });
    expect(d.file).toMatchObject({
      path: e.artifact.uri,
      hash: { sha256: e.artifact.sha256 },
      x509: { not_after: '2040-01-01T00:00:00.000Z', subject: { distinguished_name: e.finding!.subject } },
    });
    expect(d.vulnerability).toMatchObject({ severity: 'high', score: { base: 72.5 } });
    expect(d.shelflife).toMatchObject({ artifact: { copies: 3, class: 'firmware' } });
  });
});
