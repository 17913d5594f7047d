/**
 * in-toto layouts and link metadata (in-toto specification v0.9 §4.3 layout, §4.4 link; the same `{signed,
 * signatures}` envelope as TUF, with securesystemslib or GPG keys). A layout's keys are the functionary keys its steps
 * trust (each reported with the steps and thresholds it serves), and its signatures are the project owner's; a link's
 * signatures are a functionary's, joined to the layout's key by key id within the scan (src/scan/signers.ts).
 * Layouts inside DSSE envelopes are reported by the dsse detector.
 * @module
 */
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { arr, isObject, locator, readJsonDocuments, str, type JsonObject } from './_json.js';
import { readSslibKeys, sslibKeyFinding, sslibKeyOffset, sslibSignatureFinding } from './_securesystemslib.js';
import type { Detector, DetectResult } from './types.js';

export const intotoLayoutDetector: Detector = {
  format: 'intoto-layout',
  description: 'in-toto layouts (functionary keys, steps and thresholds, owner signatures) and link metadata signatures',
  claims: { names: ['*.layout', '*.layout.template', '*.link', 'root.layout'], contains: ['"keyid"'] },
  detect: detectLayout,
};

function detectLayout(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const annotations: Record<string, string> = {};
  const locate = locator(bytes);
  for (const doc of readJsonDocuments(bytes, ctx)) {
    const signed = doc.value.signed;
    if (!isObject(signed) || !Array.isArray(doc.value.signatures)) continue;
    const type = str(signed._type);
    if (type !== 'layout' && type !== 'link') continue;
    annotations['intoto.metadata'] = type;
    const expires = str(signed.expires);
    if (expires) annotations['intoto.expires'] = expires;
    if (type === 'layout') {
      const keys = readSslibKeys(signed.keys, 'signed.keys', errors, doc.offset);
      const steps = stepsOfKeys(signed.steps);
      for (const k of keys.values()) {
        const served = steps.get(k.keyid) ?? [];
        findings.push(
          sslibKeyFinding(k, 'intoto-layout', sslibKeyOffset(k, locate, doc.offset), `signed.keys.${k.keyid}`, {
            functionary: true,
            ...(served.length ? { steps: served } : {}),
            ...(expires ? { layoutExpires: expires } : {}),
          }),
        );
      }
    } else if (str(signed.name)) annotations['intoto.step'] = str(signed.name)!;
    arr(doc.value.signatures)
      .slice(0, MAX_OBJECTS_PER_ARTIFACT)
      .forEach((s, i) => {
        if (!isObject(s)) return;
        // The layout is signed by its owners, whose keys it does not list; a link by a functionary listed in the layout.
        const f = sslibSignatureFinding(s, new Map(), 'intoto-layout', locate(str(s.sig) ?? str(s.signature), doc.offset), `signatures[${i}]`, {
          metadata: type,
          ...(str(s.other_headers) ? { gpg: true } : {}),
        });
        if (expires) f.notAfter = expires;
        findings.push(f);
      });
  }
  return { findings, errors, annotations };
}

/** keyid → ["write-code (threshold 1)", …] from the layout's steps. */
function stepsOfKeys(steps: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const step of (Array.isArray(steps) ? steps : []).slice(0, MAX_OBJECTS_PER_ARTIFACT)) {
    if (!isObject(step as JsonObject)) continue;
    const s = step as JsonObject;
    const label = `${str(s.name) ?? '?'}${typeof s.threshold === 'number' ? ` (threshold ${s.threshold})` : ''}`;
    for (const id of arr(s.pubkeys).slice(0, MAX_OBJECTS_PER_ARTIFACT)) if (typeof id === 'string') out.set(id, [...(out.get(id) ?? []), label]);
  }
  return out;
}
