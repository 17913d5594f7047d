/**
 * SARIF 2.1.0 (OASIS): one rule per finding type (kind × quantum status), one result per finding, severity mapped to
 * `level`, scan errors as tool execution notifications. Local paths under the working directory are written relative
 * to `%SRCROOT%` so code-scanning dashboards can place them; `partialFingerprints` keep results stable across scans.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { relative, sep } from 'node:path';
import type { Finding, Severity } from '../model.js';
import { findingId } from '../identity.js';
import { describeFinding, retiredInScan, RULE_TEXT, ruleId, severityOf } from './_facts.js';
import { createHash } from 'node:crypto';
import { safeJson } from './text.js';
import type { Reporter } from './types.js';
import { renderError } from '../errors.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note' | 'none'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', none: 'none' };
/** GitHub code scanning reads `security-severity` (0–10) on rules. */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '2.0', none: '0.0' };

export const sarifReporter: Reporter = {
  id: 'sarif',
  description: 'SARIF 2.1.0 for code-scanning dashboards',
  extension: 'sarif',
  render(result, options) {
    const cwd = options.cwd ?? process.cwd();
    const rules = new Map<string, { f: Finding; worst: Severity }>();
    const results = [];
    for (const a of result.artifacts) {
      for (const f of a.findings) {
        const id = ruleId(f);
        const sev = severityOf(f);
        const prev = rules.get(id);
        if (!prev || LEVEL_ORDER(sev) > LEVEL_ORDER(prev.worst)) rules.set(id, { f, worst: sev });
        const loc = artifactLocation(a.uri, cwd);
        results.push({
          ruleId: id,
          level: LEVEL[sev],
          message: { text: f.exposure?.explanation ?? describeFinding(f) },
          locations: [
            {
              physicalLocation: {
                artifactLocation: loc,
                ...(f.location.offset !== undefined ? { region: { byteOffset: f.location.offset } } : {}),
              },
              ...(f.location.path || f.location.member ? { message: { text: [f.location.member, f.location.path].filter(Boolean).join(' ') } } : {}),
            },
          ],
          // The finding's identity across scans and stores, the same as OCSF finding_info.uid (src/identity.ts).
          partialFingerprints: { 'shelflifeFinding/v1': findingId(a, f) },
          properties: {
            algorithm: f.algorithm.id,
            ...(f.algorithm.hash ? { hash: f.algorithm.hash } : {}),
            format: f.format,
            quantumStatus: f.quantum.status,
            ...(f.exposure ? { score: f.exposure.score, severity: f.exposure.severity, deadlinesMissed: f.exposure.deadlinesMissed ?? [] } : {}),
            ...(a.sha256 ? { artifactSha256: a.sha256 } : {}),
          },
        });
      }
    }
    // A retired artifact still present (`shelflife retire`) is a result of its own at every location, at `error`: a
    // copy of something the team decided to remove (a revoked firmware, a leaked key) is a finding whatever its crypto.
    const retired = retiredInScan(result);
    for (const g of retired)
      for (const l of g.locations)
        results.push({
          ruleId: RETIRED_RULE.id,
          level: 'error' as const,
          message: {
            text: `Retired artifact still present: retired ${g.retired.at.slice(0, 10)} (${g.retired.reason}); sha256:${g.sha256}. Remove this copy.`,
          },
          locations: [{ physicalLocation: { artifactLocation: artifactLocation(l.uri, cwd) } }],
          partialFingerprints: { 'shelflifeRetired/v1': createHash('sha256').update(`${g.sha256}\0${l.uri}`).digest('hex').slice(0, 32) },
          properties: {
            retiredAt: g.retired.at,
            retiredReason: g.retired.reason,
            ...(g.sha256 ? { artifactSha256: g.sha256 } : {}),
            ...(l.class ? { class: l.class } : {}),
          },
        });
    const ruleList = [...rules.entries()].sort(([x], [y]) => (x < y ? -1 : 1));
    const notifications = result.artifacts.flatMap((a) =>
      a.errors.map((e) => ({
        level: 'warning' as const,
        message: { text: renderError(e, a.uri) },
        descriptor: { id: `shelflife/error/${e.code}` },
        locations: [{ physicalLocation: { artifactLocation: artifactLocation(a.uri, cwd) } }],
      })),
    );
    const log = {
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: {
            driver: {
              name: 'shelflife',
              semanticVersion: result.tool.version,
              informationUri: 'https://github.com/shelflife/shelflife',
              rules: ruleList
                .map(([id, { f, worst }]) => ({
                  id,
                  name: id
                    .replace(/^shelflife\//, '')
                    .replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())
                    .replace(/-(\w)/g, (_, c: string) => c.toUpperCase()),
                  shortDescription: { text: `${f.kind} using an algorithm that is ${f.quantum.status}` },
                  fullDescription: { text: `A ${f.kind} whose algorithm is ${RULE_TEXT[f.quantum.status]}.` },
                  help: { text: helpText(f), markdown: helpText(f) },
                  defaultConfiguration: { level: LEVEL[worst] },
                  properties: { tags: ['security', 'cryptography', 'post-quantum'], 'security-severity': SECURITY_SEVERITY[worst] },
                }))
                .concat(retired.length ? [RETIRED_RULE] : []),
            },
          },
          originalUriBaseIds: { SRCROOT: { uri: `${pathToDirUri(cwd)}` } },
          invocations: [
            {
              executionSuccessful: true,
              startTimeUtc: result.scan.startedAt,
              endTimeUtc: result.scan.finishedAt,
              toolExecutionNotifications: notifications,
            },
          ],
          results,
          properties: { scanId: result.scan.id, targets: result.scan.targets, stats: result.scan.stats },
        },
      ],
    };
    return `${safeJson(log, 2)}\n`;
  },
};

/** The rule of a retired artifact still present (issue 16 item 10). */
const RETIRED_RULE = {
  id: 'shelflife/retired-artifact-present',
  name: 'RetiredArtifactPresent',
  shortDescription: { text: 'an artifact retired with `shelflife retire` is still present' },
  fullDescription: {
    text: 'These bytes were retired (recorded with `shelflife retire`, with a reason) and a copy is still in a scanned store: it can still be installed, loaded or trusted.',
  },
  help: {
    text: 'Remove or quarantine this copy; `shelflife where <sha256>` lists every place the inventory has seen it.',
    markdown: 'Remove or quarantine this copy; `shelflife where <sha256>` lists every place the inventory has seen it.',
  },
  defaultConfiguration: { level: 'error' as const },
  properties: { tags: ['security', 'retired', 'lifecycle'], 'security-severity': '8.5' },
};

function LEVEL_ORDER(s: Severity): number {
  return ['none', 'low', 'medium', 'high', 'critical'].indexOf(s);
}

function helpText(f: Finding): string {
  if (f.quantum.status === 'vulnerable') {
    return f.kind === 'encrypted-data'
      ? 'Data protected by a quantum-vulnerable key exchange can be harvested now and decrypted later. Re-encrypt with ML-KEM (or a hybrid such as ML-KEM-768+X25519) and retire old copies.'
      : 'Re-sign or re-issue with a hybrid composite (e.g. ML-DSA-65+ECDSA-P256) or ML-DSA, keeping the original signature for existing verifiers (`shelflife resign`).';
  }
  if (f.quantum.status === 'unknown') return 'shelflife does not recognise this algorithm; check it by hand and report the identifier.';
  return 'No quantum migration needed for this algorithm.';
}

function pathToDirUri(dir: string): string {
  const u = new URL(`file://${dir.split(sep).map(encodeURIComponent).join('/')}`);
  return u.href.endsWith('/') ? u.href : `${u.href}/`;
}

/**
 * SARIF wants `artifactLocation.uri` to be a URI reference (RFC 3986 §4.1). Member paths inside shelflife's URIs are
 * as the archive named them (spaces, `%`, any Unicode): every character a URI cannot hold is percent-encoded, and a `%`
 * that starts no valid escape becomes `%25`; valid escapes stay as they are.
 */
export function uriReference(s: string): string {
  // Lone surrogates (possible in a recorded scan's JSON) have no UTF-8 form: U+FFFD, as a decoder would give.
  const wellFormed = s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  // `[` `]` belong to IPv6 hosts only; `#` may start one fragment, and no URI of ours has one: all three encoded too.
  return wellFormed.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~:/?@!$&'()*+,;=%]/gu, (c) => encodeURIComponent(c));
}

function artifactLocation(uri: string, cwd: string): { uri: string; uriBaseId?: string } {
  const absolute = { uri: uriReference(uri) };
  if (!uri.startsWith('file://')) return absolute;
  const bang = uri.indexOf('!/');
  let path: string;
  try {
    path = fileURLToPath(bang < 0 ? uri : uri.slice(0, bang));
  } catch {
    return absolute; // a malformed file URI (a hostile recorded scan): kept absolute, encoded
  }
  const rel = relative(cwd, path);
  if (!rel || rel.startsWith('..') || rel.startsWith(sep)) return absolute;
  const relUri = rel.split(sep).map(encodeURIComponent).join('/') + (bang < 0 ? '' : uriReference(uri.slice(bang)));
  return { uri: relUri, uriBaseId: 'SRCROOT' };
}
