/** in-toto layouts and links (src/detectors/intoto-layout.ts) on in-toto's demo files (fixtures/supply-chain/realworld/in-toto). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectAll, FIXTURES, summary } from '../helpers/scan.js';

const DIR = join(FIXTURES, 'supply-chain', 'realworld', 'in-toto');
const read = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const layout = (name: string, bytes: Uint8Array | string) => {
  const r = detectAll(name, bytes);
  return { ...r, findings: r.findings.filter((f) => f.format === 'intoto-layout'), errors: r.errors.filter((e) => e.source === 'intoto-layout') };
};

describe('intoto-layout detector', () => {
  it('a layout: functionary keys with the steps they may sign', () => {
    const r = layout('root.layout', read('demo.layout.template'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['public-key intoto-layout RSA-3072', 'public-key intoto-layout RSA-3072']);
    expect(r.findings.map((f) => f.details?.steps)).toEqual([['package (threshold 1)'], ['write-code (threshold 1)']]);
    expect(r.annotations).toMatchObject({ 'intoto.metadata': 'layout' });
  });

  it('GPG functionary keys: the size from the RSA modulus in hex', () => {
    const r = layout('root.layout', read('gpg-demo.layout.template'));
    expect(summary(r.findings)).toEqual(['public-key intoto-layout RSA-2048', 'public-key intoto-layout RSA-2048']);
    expect(r.findings[0].details).toMatchObject({ keytype: 'rsa', scheme: 'pgp+rsa-pkcsv1.5', keyid: '7b3abb26b97b655ab9296bd15b0bd02e1c768c43' });
  });

  it('a link: the functionary signature, named by key id, for the join step', () => {
    const r = layout('package.2f89b927.link', read('package.2f89b927.link'));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({
      kind: 'signature',
      fingerprint: expect.stringMatching(/^2f89b927/),
      details: { metadata: 'link', signatureBytes: 384 },
    });
    const gpg = layout('package.7b3abb26.link', read('gpg-package.7b3abb26.link'));
    expect(gpg.findings[0]).toMatchObject({ kind: 'signature', fingerprint: '7b3abb26b97b655ab9296bd15b0bd02e1c768c43', details: { gpg: true } });
  });

  it('negative and malformed input', () => {
    expect(layout('x.link', '{"signed": {"_type": "root"}, "signatures": []}').findings).toEqual([]);
    expect(layout('x.link', '{"keyid": 1}').findings).toEqual([]);
    const r = layout(
      'x.layout',
      '{"signed": {"_type": "layout", "keys": {"k": {"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----"}}}}, "signatures": []}',
    );
    expect(r.errors.map((e) => e.code)).toEqual(['malformed']);
  });
});
