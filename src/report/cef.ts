/**
 * ArcSight Common Event Format, version 0 ("Implementing ArcSight CEF", Micro Focus, rev. 25):
 *   CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
 * Header fields escape `\` and `|`; extension values escape `\`, `=` and line breaks (`\n`, `\r`). Extension keys
 * are fixed here (ArcSight dictionary names and the cs/cn custom slots with their labels).
 * @module
 */
import type { Severity } from '../model.js';
import { VERSION } from '../version.js';
import { clip, eventTitle, type SinkEvent } from './event.js';
import { displayText } from './text.js';

/** CEF severity is 0–10 (0–3 low, 4–6 medium, 7–8 high, 9–10 very high). */
export const CEF_SEVERITY: Record<Severity, number> = { none: 0, low: 3, medium: 5, high: 8, critical: 10 };

/**
 * Header field: backslash and pipe are escaped; a line break has no escape in the header, so it becomes a space. Any
 * other control or bidi character (NUL, ESC, RLO …) has no CEF escape either: it is shown as text (`\x1B`, displayText).
 */
export function cefHeaderEscape(s: string): string {
  return displayText(s.replace(/\r\n|[\r\n]/g, ' ')).replace(/[\\|]/g, (c) => `\\${c}`);
}

/**
 * Extension value: backslash, equals sign and line breaks are escaped (pipes need no escape in extensions). Any other
 * control or bidi character is shown as text (`\x00`, `\u202E`: displayText), then escaped like the rest.
 */
export function cefExtensionEscape(s: string): string {
  return s
    .split(/(\r|\n)/)
    .map((part) => (part === '\n' ? '\n' : part === '\r' ? '\r' : displayText(part)))
    .join('')
    .replace(/[\\=]/g, (c) => `\\${c}`)
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

export function toCef(e: SinkEvent): string {
  const f = e.finding;
  const classId = e.type === 'artifact' ? 'shelflife:artifact' : `shelflife:finding:${f!.kind}`;
  const header = ['CEF:0', 'shelflife', 'shelflife', VERSION, classId, eventTitle(e), String(CEF_SEVERITY[e.exposure.severity])].map((h, i) =>
    i === 0 ? h : cefHeaderEscape(h),
  );
  const ext: [string, string | number | undefined][] = [
    ['rt', Date.parse(e.time)],
    ['externalId', e.id],
    ['cat', e.artifact.class],
    ['msg', e.exposure.explanation],
    ['filePath', e.artifact.uri],
    ['fileHash', e.artifact.sha256 ?? undefined],
    ['fsize', e.artifact.size],
    ['fileType', e.artifact.mediaType],
    ['act', e.change],
    ['cn1Label', 'exposureScore'],
    ['cn1', e.exposure.score],
    ['cn2Label', 'copies'],
    ['cn2', e.artifact.copies],
    ['cs1Label', 'algorithm'],
    ['cs1', f ? `${f.algorithm.id}${f.algorithm.hash ? `/${f.algorithm.hash}` : ''}` : undefined],
    ['cs2Label', 'quantumStatus'],
    ['cs2', f?.quantum.status],
    ['cs3Label', 'deadlinesMissed'],
    ['cs3', e.exposure.deadlinesMissed.length ? e.exposure.deadlinesMissed.join('; ') : undefined],
    ['cs4Label', 'scanId'],
    ['cs4', e.scan.id],
    ['cs5Label', 'format'],
    ['cs5', f?.format],
    ['cs6Label', 'subject'],
    ['cs6', f?.subject ? clip(f.subject, 1023) : undefined],
  ];
  const extension = ext
    .filter(([, v]) => v !== undefined && v !== '' && !(typeof v === 'number' && !Number.isFinite(v)))
    .map(([k, v]) => `${k}=${cefExtensionEscape(String(v))}`)
    .join(' ');
  return `${header.join('|')}|${extension}`;
}
