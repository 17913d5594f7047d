/**
 * One self-contained HTML file a CISO can read: no script, no network at view time (a Content-Security-Policy that
 * allows nothing external), charts as inline SVG. Totals; exposure by artifact class; vulnerable findings by the year
 * their artifact must still be trusted; the worst artifacts with their explanations, copies and missed deadlines;
 * the trend over past scans when the inventory supplies it.
 * @module
 */
import { scanModels } from '../provenance/scan-models.js';
import type { ArtifactResult, ScanResult, Severity } from '../model.js';
import { SEVERITIES } from '../model.js';
import { coverageTotals, isSignatureOfOthers, rankedFindings, retiredInScan, severityOf, signatureSummary, totals, worse } from './_facts.js';
import { modelCells } from './_models.js';
import type { Reporter, RenderOptions } from './types.js';
import { renderError } from '../errors.js';
import { formatBytes } from './table.js';
import { displayUri, htmlText } from './text.js';
import { barChart, lineChart } from './chart.js';

const COLORS: Record<Severity, string> = { critical: '#8b0000', high: '#d9480f', medium: '#f59f00', low: '#1c7ed6', none: '#2b8a3e' };
/** Years already past: a lifetime that is over is not an alarm of its own. */
const PAST = '#adb5bd';

/** Text for an HTML text node or attribute value: control and bidi characters shown (displayText), markup escaped. */
export const esc = htmlText;

export const htmlReporter: Reporter = {
  id: 'html',
  description: 'self-contained HTML report (inline SVG charts, no network at view time)',
  extension: 'html',
  render: renderHtml,
};

function artifactSeverity(a: ArtifactResult): Severity {
  if (a.exposure) return a.exposure.severity;
  return a.findings.reduce<Severity>((s, f) => worse(s, severityOf(f)), 'none');
}

/** Stacked horizontal bars: one row per label, one segment per severity. */
function stackedBars(rows: [string, Record<Severity, number>][], title: string): string {
  if (!rows.length) return '<p class="muted">No findings.</p>';
  const width = 720;
  const labelW = 170;
  const barH = 22;
  const max = Math.max(1, ...rows.map(([, r]) => SEVERITIES.reduce((n, s) => n + r[s], 0)));
  const scale = (width - labelW - 60) / max;
  const parts = rows.map(([label, r], i) => {
    let x = labelW;
    const y = 10 + i * (barH + 8);
    const segs = [...SEVERITIES].reverse().map((s) => {
      const w = r[s] * scale;
      const seg =
        w > 0
          ? `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[s]}"><title>${esc(label)}: ${r[s]} ${s}</title></rect>`
          : '';
      x += w;
      return seg;
    });
    const total = SEVERITIES.reduce((n, s) => n + r[s], 0);
    return `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(label)}</text>${segs.join('')}<text x="${(x + 6).toFixed(1)}" y="${y + 16}">${total}</text>`;
  });
  const h = 20 + rows.length * (barH + 8);
  return `<svg role="img" aria-label="${esc(title)}" viewBox="0 0 ${width} ${h}" width="100%" height="${h}">${parts.join('')}</svg>`;
}

/** The two drawings of a chart: a wide one, and a narrow one for small screens (CSS picks; no script). */
const LAYOUTS = [
  { className: 'wide', width: 720, height: 240, fontSize: 12 },
  { className: 'narrow', width: 400, height: 260, fontSize: 11 },
] as const;

/** What the year chart counts per year: vulnerable findings, and whether a retired artifact still present is among them. */
interface YearCount {
  findings: number;
  retired: boolean;
}

/** The most years drawn one bar each; a wider range is drawn as the years that have findings. */
const MAX_YEAR_SPAN = 100;

/**
 * Vulnerable findings by the year their artifact must still be trusted until, every year of the range on the axis.
 * Past years (a lifetime already over) are grey, not the alarm colour: the alarm is for what `shelflife retire`
 * retired and is still here (red), and for lifetimes that reach the NIST IR 8547 deadlines (2030, 2035).
 */
function yearChart(counts: Map<number, YearCount>, now: number): string {
  if (!counts.size) return '<p class="muted">No quantum-vulnerable findings with a known retirement year.</p>';
  const present = [...counts.keys()].sort((a, b) => a - b);
  const first = present[0];
  const last = present[present.length - 1];
  const years = last - first <= MAX_YEAR_SPAN ? Array.from({ length: last - first + 1 }, (_, i) => first + i) : present;
  const colour = (y: number, c: YearCount | undefined) =>
    c?.retired ? COLORS.critical : y < now ? PAST : y <= 2030 ? COLORS.critical : y <= 2035 ? COLORS.high : COLORS.medium;
  const bars = years.map((y) => {
    const c = counts.get(y);
    return {
      value: c?.findings ?? 0,
      colour: colour(y, c),
      title: `${y}: ${c?.findings ?? 0} vulnerable findings${c?.retired ? ', retired artifacts still present' : ''}`,
    };
  });
  return `<div class="chart">${LAYOUTS.map((l) =>
    barChart(
      { ...l, title: 'vulnerable findings by the year their artifact must still be trusted', yTitle: 'findings', categories: years.map(String), keys: years },
      bars,
    ),
  ).join('')}</div>`;
}

/**
 * Findings over past scans: all, and critical + high, with a y axis. One label per scan date: a date that several
 * scans share labels its first scan, the others their time of day.
 */
function trendChart(history: NonNullable<RenderOptions['history']>): string {
  if (history.length < 2) return '<p class="muted">Trend appears after two or more recorded scans (<code>--db</code>).</p>';
  const categories = history.map((s, i) => {
    const date = s.finishedAt.slice(0, 10);
    return i > 0 && history[i - 1].finishedAt.slice(0, 10) === date ? s.finishedAt.slice(11, 16) : date;
  });
  const series = [
    { name: 'findings', colour: '#868e96', values: history.map((s) => SEVERITIES.reduce((n, k) => n + s.bySeverity[k], 0)) },
    { name: 'critical + high', colour: COLORS.critical, values: history.map((s) => s.bySeverity.critical + s.bySeverity.high) },
  ];
  return `<div class="chart">${LAYOUTS.map((l) => lineChart({ ...l, title: 'findings over past scans', yTitle: 'findings', categories }, series)).join('')}</div>
<p class="legend"><span style="color:#868e96">■</span> all findings <span style="color:${COLORS.critical}">■</span> critical + high</p>`;
}

/** The year the artifact must still be trusted (or the ciphertext kept secret) until, from the scoring inputs. */
function retirementYear(a: ArtifactResult): number | undefined {
  const inputs = a.exposure?.inputs as Record<string, unknown> | undefined;
  for (const k of ['retireYear', 'retiresAt', 'trustedUntil', 'secretUntil']) {
    const v = inputs?.[k];
    if (typeof v === 'number') return Math.floor(v);
    if (typeof v === 'string' && /^\d{4}/.test(v)) return Number(v.slice(0, 4));
  }
  if (a.lifetime && a.created?.at) return new Date(a.created.at).getUTCFullYear() + Math.ceil(a.lifetime.years);
  return undefined;
}

export function renderHtml(result: ScanResult, options: RenderOptions = {}): string {
  const t = totals(result);
  const classes = [...t.byClass.entries()].sort((a, b) => SEVERITIES.reduce((n, s) => n + b[1][s], 0) - SEVERITIES.reduce((n, s) => n + a[1][s], 0));
  const byYear = new Map<number, YearCount>();
  for (const a of result.artifacts) {
    const n = a.findings.filter((f) => f.quantum.status === 'vulnerable').length;
    const y = retirementYear(a);
    if (!n || !y) continue;
    const c = byYear.get(y) ?? { findings: 0, retired: false };
    byYear.set(y, { findings: c.findings + n, retired: c.retired || !!a.retired });
  }
  // A signature file is shown with what it signs (its exposure is that artifact's), not as an artifact of its own.
  const worst = result.artifacts
    .filter((a) => (a.findings.length || a.signedBy?.length) && !isSignatureOfOthers(a))
    .sort((x, y) => SEVERITIES.indexOf(artifactSeverity(y)) - SEVERITIES.indexOf(artifactSeverity(x)) || (y.exposure?.score ?? 0) - (x.exposure?.score ?? 0))
    .slice(0, 25);
  const deadlines = new Map<string, number>();
  for (const { f } of rankedFindings(result)) for (const d of f.exposure?.deadlinesMissed ?? []) deadlines.set(d, (deadlines.get(d) ?? 0) + 1);
  const errors = result.artifacts.flatMap((a) => a.errors.map((e) => ({ code: e.code, text: renderError(e, a.uri) })));
  const cov = coverageTotals(result);
  const card = (label: string, value: string | number, colour = '#212529') =>
    `<div class="card"><div class="v" style="color:${colour}">${esc(value)}</div><div class="l">${esc(label)}</div></div>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shelflife report ${esc(result.scan.finishedAt.slice(0, 10))}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212529;background:#f8f9fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;border-bottom:1px solid #dee2e6;padding-bottom:4px}
.muted{color:#6c757d}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}
.card{background:#fff;border:1px solid #dee2e6;border-radius:8px;padding:12px 18px;min-width:110px}
.card .v{font-size:26px;font-weight:700}.card .l{color:#6c757d;font-size:13px}
section{background:#fff;border:1px solid #dee2e6;border-radius:8px;padding:12px 18px;margin:14px 0}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e9ecef;vertical-align:top}
th{background:#f1f3f5}.sev{font-weight:700;text-transform:uppercase;font-size:11px;padding:2px 6px;border-radius:4px;color:#fff}
code{font-size:12px;word-break:break-all}svg text{font:12px system-ui,sans-serif;fill:#343a40}.legend{font-size:12px;color:#495057}
section.alarm{border:2px solid #8b0000;background:#fff5f5}section.alarm h2{color:#8b0000}
.chart svg{display:block;height:auto}.chart svg.narrow{display:none}
@media (max-width:640px){.chart svg.wide{display:none}.chart svg.narrow{display:block}}
</style>
</head>
<body><main>
<h1>Quantum exposure of long-lived artifacts</h1>
<p class="muted">shelflife ${esc(result.tool.version)} · scan <code>${esc(result.scan.id)}</code> · ${esc(result.scan.finishedAt)} · ${esc(formatBytes(result.scan.stats.bytes))} read · targets: ${result.scan.targets.map((x) => `<code>${esc(x)}</code>`).join(', ')}</p>
${retiredSection(result, options)}<div class="cards">
${card('artifacts', t.artifacts)}${card('findings', t.findings)}${card('unsigned (should be signed)', cov.unsigned.length, cov.unsigned.length ? COLORS.high : '#212529')}${card('hybrid-signed', cov.hybridSigned, COLORS.none)}${SEVERITIES.slice()
    .reverse()
    .map((s) => card(s, t.bySeverity[s], COLORS[s]))
    .join(
      '',
    )}${card('quantum-vulnerable', t.byStatus.vulnerable ?? 0, COLORS.high)}${card('hybrid / resistant', (t.byStatus.hybrid ?? 0) + (t.byStatus.resistant ?? 0), COLORS.none)}${card('read errors', t.errors, t.errors ? COLORS.medium : '#212529')}
</div>
<section><h2>Exposure by artifact class</h2>${stackedBars(classes, 'findings by artifact class and severity')}
<p class="legend">${SEVERITIES.slice()
    .reverse()
    .map((s) => `<span style="color:${COLORS[s]}">■</span> ${s}`)
    .join(' ')}</p></section>
<section><h2>Quantum-vulnerable findings by the year their artifact must still be trusted</h2>${yearChart(byYear, new Date(result.scan.finishedAt).getUTCFullYear())}
<p class="legend"><span style="color:${COLORS.critical}">■</span> to 2030 (NIST IR 8547 deprecation) or retired and still present <span style="color:${COLORS.high}">■</span> to 2035 (disallowed after) <span style="color:${COLORS.medium}">■</span> later <span style="color:${PAST}">■</span> lifetime already over</p></section>
<section><h2>Worst artifacts</h2>
${
  worst.length
    ? `<table><thead><tr><th>severity</th><th>artifact</th><th>class</th><th>findings</th><th>signed by / covered by</th><th>why, and what to do</th><th>copies</th></tr></thead><tbody>
${worst
  .map((a) => {
    const s = artifactSeverity(a);
    const algs = [...new Set(a.findings.map((f) => `${f.algorithm.id} ${f.kind}${f.subject ? ` (${f.subject})` : ''}`))].slice(0, 6).join('; ');
    return `<tr><td><span class="sev" style="background:${COLORS[s]}">${s}</span></td><td><code>${esc(displayUri(a.uri, options.cwd))}</code></td><td>${esc(a.class ?? '')}</td><td>${esc(algs)}</td><td>${esc(signatureSummary(a) ?? '')}</td><td>${esc(a.exposure?.explanation ?? '')}</td><td>${esc((a as { copies?: number }).copies ?? 1)}</td></tr>`;
  })
  .join('\n')}
</tbody></table>`
    : '<p class="muted">No findings.</p>'
}
</section>
<section><h2>Deadlines missed</h2>
${
  deadlines.size
    ? `<table><thead><tr><th>deadline</th><th>findings</th></tr></thead><tbody>${[...deadlines]
        .sort((a, b) => b[1] - a[1])
        .map(([d, n]) => `<tr><td>${esc(d)}</td><td>${n}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="muted">None recorded (run with scoring policies to list them).</p>'
}
</section>
${coverageSection(result, options)}${modelsSection(result, options)}<section><h2>Trend over past scans</h2>${trendChart(options.history ?? [])}</section>
${
  errors.length
    ? `<section><h2>Artifacts that could not be read completely (${errors.length})</h2><table><tbody>${errors
        .slice(0, 100)
        .map((e) => `<tr><td>${esc(e.code)}</td><td>${esc(e.text)}</td></tr>`)
        .join('')}</tbody></table></section>`
    : ''
}
</main></body></html>
`;
}

/**
 * Retired artifacts still present (`shelflife retire`), the first thing the report shows when there are any (issue 16
 * item 10): what (digest), where (every location), since when and why.
 */
function retiredSection(result: ScanResult, options: RenderOptions): string {
  const groups = retiredInScan(result);
  if (!groups.length) return '';
  const n = groups.reduce((k, g) => k + g.locations.length, 0);
  const rows = groups
    .slice(0, 100)
    .map((g) => {
      const where = g.locations
        .slice(0, 20)
        .map((l) => `<code>${esc(displayUri(l.uri, options.cwd))}</code>${l.class ? ` (${esc(l.class)})` : ''}`)
        .join('<br>');
      const more = g.locations.length > 20 ? `<br>…and ${g.locations.length - 20} more` : '';
      return `<tr><td>${esc(g.retired.at.slice(0, 10))}</td><td>${esc(g.retired.reason)}</td><td><code>sha256:${esc(g.sha256.slice(0, 16))}…</code></td><td>${where}${more}</td></tr>`;
    })
    .join('\n');
  return `<section class="alarm" id="retired"><h2>Retired but still present: ${n} location${n === 1 ? '' : 's'} of ${groups.length} retired artifact${groups.length === 1 ? '' : 's'}</h2>
<table><thead><tr><th>retired</th><th>why</th><th>digest</th><th>still at</th></tr></thead><tbody>
${rows}
</tbody></table>${groups.length > 100 ? `<p class="muted">…and ${groups.length - 100} more (see the JSON report).</p>` : ''}
<p class="legend">Remove or quarantine these copies; <code>shelflife where &lt;sha256&gt;</code> lists every place the inventory has seen one.</p></section>
`;
}

/**
 * Signatures and what they cover (docs/coverage.md): how many artifacts are signed, covered by a signed list, hybrid-
 * signed, and every artifact whose class should be signed that nothing signs.
 */
function coverageSection(result: ScanResult, options: RenderOptions): string {
  const cov = coverageTotals(result);
  if (!cov.signed && !cov.covered && !cov.unsigned.length && !cov.indexUnsigned) return '';
  const rows = cov.unsigned
    .slice(0, 100)
    .map((a) => `<tr><td><code>${esc(displayUri(a.uri, options.cwd))}</code></td><td>${esc(a.class ?? '')}</td><td>${esc(signatureSummary(a) ?? '')}</td></tr>`)
    .join('\n');
  return `<section><h2>Signatures</h2>
<p>${cov.signed} signed (a signature on it or beside it) · ${cov.covered} covered by a signed checksum list or model signature · ${cov.hybridSigned} hybrid-signed · <strong>${cov.unsigned.length} unsigned</strong> that should be signed${cov.indexUnsigned ? ` · ${cov.indexUnsigned} listed only by unsigned checksum files` : ''}</p>
${
  cov.unsigned.length
    ? `<table><thead><tr><th>unsigned artifact</th><th>class</th><th>why</th></tr></thead><tbody>
${rows}
</tbody></table>${cov.unsigned.length > 100 ? `<p class="muted">…and ${cov.unsigned.length - 100} more (see the JSON report).</p>` : ''}`
    : ''
}</section>
`;
}

/**
 * Signed models the scan found (OpenSSF Model Signing signatures, src/provenance/scan-models.ts), with the provenance
 * the scan summarized once per model: integrity since signing, lineage, last evaluation, approval (each with its
 * grade), the model signature's algorithms and exposure, copies and retirement.
 */
function modelsSection(result: ScanResult, options: RenderOptions): string {
  const models = scanModels(result);
  if (!models.length) return '';
  const rows = models
    .map((m) => {
      const c = modelCells(m);
      return `<tr><td><code>${esc(displayUri(m.uri, options.cwd))}</code><br><code>sha256:${esc(m.root.slice(0, 16))}…</code></td><td>${esc(c.integrity)}</td><td>${esc(c.lineage)}</td><td>${esc(c.evaluation)}</td><td>${esc(c.approval)}</td><td>${esc(c.signature)}</td><td>${esc(m.copies ?? 1)}</td><td>${esc(c.retired)}</td></tr>`;
    })
    .join('\n');
  return `<section><h2>Models (${models.length})</h2>
<table><thead><tr><th>model, root digest</th><th>integrity</th><th>lineage</th><th>last evaluation</th><th>approval</th><th>model signature</th><th>copies</th><th>retired</th></tr></thead><tbody>
${rows}
</tbody></table>
<p class="legend">Grades: signed-verified (a signature trusted with <code>scan --trust</code>), signed, declared (unsigned metadata), absent. The whole answer with its evidence: <code>shelflife provenance &lt;model&gt; --trust trust.yaml</code>.</p></section>
`;
}
