import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { REPORTERS } from '../../src/report/index.js';
import { changedEventsOfScan, eventsOfScan } from '../../src/report/event.js';
import { toOcsf } from '../../src/report/ocsf.js';
import { scan } from '../../src/scan/scan.js';
import { FIXTURES } from '../helpers/scan.js';
import { sampleScan } from '../helpers/sample-scan.js';
import { validateComplianceFinding } from '../helpers/ocsf-schema.js';

describe('OCSF 1.2.0 Compliance Finding', () => {
  it('every event of a real scan validates against the vendored class definition', async () => {
    const result = await scan({ targets: [join(FIXTURES, 'pki')], concurrency: 2, now: () => new Date('2026-11-28T00:00:00Z') });
    const events = [...eventsOfScan(result)];
    expect(events.length).toBeGreaterThan(10);
    for (const e of events) expect(validateComplianceFinding(toOcsf(e)), e.artifact.uri).toEqual([]);
  });

  it('new, changed and resolved map to Create, Update and Close', () => {
    const before = sampleScan(2, 2, 'a');
    const after = sampleScan(2, 2, 'b');
    after.artifacts[0].findings.pop();
    after.artifacts[1].findings[0].exposure = { ...after.artifacts[1].findings[0].exposure!, score: 99, severity: 'critical' };
    const diff = {
      from: { id: 'a', finishedAt: null },
      to: { id: 'b', finishedAt: null },
      newFindings: [],
      changedFindings: [{ uri: after.artifacts[1].uri, finding: after.artifacts[1].findings[0], before: before.artifacts[1].findings[0] }],
      resolvedFindings: [{ uri: before.artifacts[0].uri, finding: before.artifacts[0].findings[1] }],
      newArtifacts: [],
      disappearedArtifacts: [],
      coverageLost: [],
      coverageGained: [],
    };
    const out = [...changedEventsOfScan(after, before, diff)].map(toOcsf);
    for (const o of out) expect(validateComplianceFinding(o)).toEqual([]);
    expect(out.map((o) => [o.activity_id, o.type_uid])).toEqual([
      [2, 200302],
      [3, 200303],
      [2, 200302],
      [2, 200302],
    ]);
    expect(out[1]).toMatchObject({ status_id: 4, compliance: { status_id: 1 } });
    expect(out[0]).toMatchObject({ severity_id: 5, compliance: { status_id: 3, standards: ['NIST IR 8547', 'CNSA 2.0'] } });
  });

  it('the validator catches what is wrong (it can fail)', () => {
    const [e] = eventsOfScan(sampleScan(1));
    const o = toOcsf(e);
    expect(validateComplianceFinding({ ...o, compliance: undefined })).toContain('$.compliance: required by compliance_finding');
    expect(validateComplianceFinding({ ...o, severity_id: 7 }).join()).toMatch(/severity_id: 7 is not one of/);
    expect(validateComplianceFinding({ ...o, bogus: 1 })).toContain('$.bogus: not an attribute of compliance_finding');
    expect(validateComplianceFinding({ ...o, time: '2026' }).join()).toMatch(/time: "2026" is not a timestamp_t/);
    expect(validateComplianceFinding({ ...o, type_uid: 200399 }).join()).toMatch(/type_uid/);
    expect(validateComplianceFinding({ ...o, metadata: { version: '1.2.0' } }).join()).toMatch(/metadata.product: required/);
  });

  it('--format ocsf writes one event per line', () => {
    const r = sampleScan(3, 2);
    const lines = REPORTERS.ocsf.render(r, {}).trimEnd().split('\n');
    expect(lines).toHaveLength(9);
    for (const l of lines) expect(validateComplianceFinding(JSON.parse(l))).toEqual([]);
  });
});
