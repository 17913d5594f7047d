/** One finding identity for the whole flow: de-duplication, inventory diffs, SARIF fingerprints and OCSF/SIEM ids. */
import { describe, expect, it } from 'vitest';
import { findingId, findingKey } from '../src/identity.js';
import type { Finding } from '../src/model.js';
import { eventsOfScan } from '../src/report/event.js';
import { toOcsf } from '../src/report/ocsf.js';
import { REPORTERS } from '../src/report/index.js';
import { sampleResult } from './report/sample.js';

const cert = (over: Partial<Finding> = {}): Finding => ({
  kind: 'certificate',
  format: 'x509',
  algorithm: { id: 'RSA-2048', family: 'RSA', hash: 'SHA-256' },
  quantum: { status: 'vulnerable', classicalBits: 112, nistLevel: null },
  location: { offset: 100 },
  fingerprint: 'ab'.repeat(32),
  ...over,
});

describe('findingKey', () => {
  it('is the same for one certificate reported by two detectors at one offset', () => {
    expect(findingKey(cert({ format: 'cms', location: { offset: 100, path: 'certificates[0]' } }))).toBe(findingKey(cert()));
  });

  it('tells apart what is not the same object', () => {
    const base = findingKey(cert());
    for (const other of [
      cert({ location: { offset: 101 } }),
      cert({ location: { offset: 100, member: 'META-INF/A.RSA' } }),
      cert({ algorithm: { id: 'RSA-2048', family: 'RSA', hash: 'SHA-1' } }),
      cert({ algorithm: { id: 'RSA-3072', family: 'RSA', hash: 'SHA-256' } }),
      cert({ fingerprint: 'cd'.repeat(32) }),
      cert({ kind: 'public-key' }),
    ])
      expect(findingKey(other)).not.toBe(base);
    // Without an offset the structural path places it; without a fingerprint the subject names it.
    expect(findingKey(cert({ location: { path: 'signerInfos[0]' } }))).not.toBe(findingKey(cert({ location: { path: 'signerInfos[1]' } })));
    expect(findingKey(cert({ fingerprint: undefined, subject: 'CN=a' }))).not.toBe(findingKey(cert({ fingerprint: undefined, subject: 'CN=b' })));
  });
});

describe('findingId', () => {
  it('follows the bytes, not the location; without a digest the URI stands in', () => {
    const f = cert();
    expect(findingId({ sha256: 'a'.repeat(64), uri: 'file:///a' }, f)).toBe(findingId({ sha256: 'a'.repeat(64), uri: 's3://b/a' }, f));
    expect(findingId({ sha256: 'a'.repeat(64), uri: 'file:///a' }, f)).not.toBe(findingId({ sha256: 'b'.repeat(64), uri: 'file:///a' }, f));
    expect(findingId({ sha256: null, uri: 'file:///a' }, f)).not.toBe(findingId({ sha256: null, uri: 'file:///b' }, f));
    expect(findingId({ sha256: null, uri: 'file:///a' }, f)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is what SARIF fingerprints and OCSF finding_info.uid carry, so dashboards de-duplicate alike', () => {
    const result = sampleResult();
    // Findings only: a retired artifact still present is a result of its own rule, fingerprinted by digest and place.
    const sarif = JSON.parse(REPORTERS.sarif.render(result, { cwd: '/srv' }))
      .runs[0].results.filter((r: { ruleId: string }) => r.ruleId !== 'shelflife/retired-artifact-present')
      .map((r: { partialFingerprints: Record<string, string> }) => r.partialFingerprints['shelflifeFinding/v1']);
    const ocsf = [...eventsOfScan(result)].filter((e) => e.type === 'finding').map((e) => (toOcsf(e).finding_info as { uid: string }).uid);
    const ids = result.artifacts.flatMap((a) => a.findings.map((f) => findingId(a, f)));
    expect(sarif).toEqual(ids);
    expect(ocsf).toEqual(ids);
  });
});
