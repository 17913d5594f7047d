/**
 * Issue 16 item 14: an image layer that is not what its media type says (`…tar+gzip` whose bytes are not gzip, or
 * gzip that breaks off) is an error naming the layer (its image and its digest) and the reason, and the scan goes on
 * with the image's other layers. Pushed to a real registry (Debian's docker-registry, test/setup/registry.ts).
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ScanResult } from '../../src/model.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { REPORTERS } from '../../src/report/index.js';
import { scan } from '../../src/scan/scan.js';
import { digestOf, gz, makeCert, pushImage, tar } from '../helpers/registry.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';

const reg = inject('registry');
const REGISTRY_MISSING = !reg.available && reg.reason;

describe('an image layer that is not valid gzip (issue 16 item 14)', () => {
  requirePrerequisiteForAll(REGISTRY_MISSING);
  const host = reg.anonymous;
  const garbage = new Uint8Array(2048).map((_, i) => (i * 131 + 7) & 0xff);
  // Made in beforeAll, not while the file is collected: makeCert runs openssl, which a machine with only Node lacks.
  let good: Uint8Array;
  let notGzip: Uint8Array;
  let truncated: Uint8Array;
  let result: ScanResult;
  let image: string;

  beforeAll(async () => {
    if (REGISTRY_MISSING) return;
    good = gz(tar({ 'etc/ssl/certs/good.pem': makeCert('the layer that reads', 'rsa').certPem }));
    notGzip = tar({ 'etc/ssl/certs/plain.pem': makeCert('a plain tar said to be gzip').certPem });
    const whole = gz(tar({ 'etc/ssl/certs/cut.pem': makeCert('gzip that breaks off').certPem, 'usr/bin/filler': 'x'.repeat(4096) }));
    truncated = whole.subarray(0, whole.length - 40);
    const client = new RegistryClient(host);
    const pushed = await pushImage(client, 'badlayers', 'v1', [{ bytes: notGzip }, { bytes: truncated }, { bytes: garbage }, { bytes: good }]);
    image = `oci://${host}/badlayers@${pushed.digest}`;
    result = await scan({ targets: [`oci://${host}/badlayers:v1`], concurrency: 2, sourceOptions: { layers: true, backoffMs: 1 } });
  });

  const layer = (bytes: Uint8Array) => result.artifacts.find((a) => a.uri === `oci://${host}/badlayers@${digestOf(bytes)}`)!;

  it('each bad layer carries an error naming its image and the reason', () => {
    for (const [bytes, reason] of [
      [notGzip, /media type .*tar\+gzip says gzip, but its bytes are not gzip \(they start 65 74 63 2f\)/],
      [garbage, /media type .*tar\+gzip.* but (its bytes are|it is) not gzip/],
      [truncated, /gzip|unexpected end|truncated/i],
    ] as const) {
      const l = layer(bytes);
      expect(l, `layer ${digestOf(bytes)}`).toBeDefined();
      expect(l.parent).toBe(image);
      const errs = l.errors.filter((e) => e.source === 'container');
      expect(errs.length, JSON.stringify(l.errors)).toBeGreaterThan(0);
      expect(errs[0].message).toMatch(reason);
      expect(errs[0].message).toContain(image);
    }
  });

  it('the scan goes on: the good layer is read, and the table shows each error with the layer digest', () => {
    const ok = result.artifacts.find((a) => a.uri.startsWith(`oci://${host}/badlayers@${digestOf(good)}!/etc/ssl/certs/good.pem`));
    expect(ok?.findings.map((f) => f.algorithm.id)).toContain('RSA-2048');
    const table = REPORTERS.table.render(result, {});
    for (const b of [notGzip, truncated, garbage]) expect(table).toContain(`oci://${host}/badlayers@${digestOf(b)}: `);
  });
});
