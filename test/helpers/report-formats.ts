/**
 * A validator for every report format shelflife writes, each against the format's own definition: the JSON
 * inventory against schema/scan-output.schema.json, SARIF against the OASIS 2.1.0 schema, CycloneDX against the
 * official 1.6 schema, OCSF against the vendored class definition, HTML parsed (parse5, the WHATWG parser: no
 * tokenizer error, tags balanced, the CSP, nothing loaded from elsewhere, no script), Markdown and CSV structurally
 * (tables, code spans, RFC 4180 records, formula safety), and the terminal table. Each returns the problems found;
 * an empty list means valid.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import type { ScanResult } from '../../src/model.js';
import { eventsOfScan } from '../../src/report/event.js';
import type { ReportFormat } from '../../src/report/index.js';
import { cdxValidator } from './cyclonedx.js';
import { validateComplianceFinding } from './ocsf-schema.js';

const ROOT = join(import.meta.dirname, '..', '..');
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const ajvErrors = (errors: { instancePath: string; message?: string }[] | null | undefined) =>
  (errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'}: ${e.message}`);

let jsonSchema: ReturnType<InstanceType<typeof Ajv2020.default>['compile']> | undefined;
export function validateJsonReport(text: string): string[] {
  if (!jsonSchema) {
    const ajv = new Ajv2020.default({ allErrors: true, strict: true });
    addFormats.default(ajv);
    jsonSchema = ajv.compile(readJson(join(ROOT, 'schema', 'scan-output.schema.json')));
  }
  return jsonSchema(JSON.parse(text)) ? [] : ajvErrors(jsonSchema.errors);
}

let sarifSchema: ReturnType<InstanceType<typeof Ajv04.default>['compile']> | undefined;
export function validateSarif(text: string): string[] {
  if (!sarifSchema) {
    const ajv = new Ajv04.default({ allErrors: true, strict: false });
    addFormats.default(ajv);
    sarifSchema = ajv.compile(readJson(join(ROOT, 'test', 'vendor', 'sarif', 'sarif-schema-2.1.0.json')));
  }
  return sarifSchema(JSON.parse(text)) ? [] : ajvErrors(sarifSchema.errors);
}

let cdxSchema: ReturnType<typeof cdxValidator> | undefined;
export function validateCycloneDx(text: string): string[] {
  cdxSchema ??= cdxValidator();
  return cdxSchema(JSON.parse(text)) ? [] : ajvErrors(cdxSchema.errors);
}

/** One OCSF Compliance Finding per line, one line per event of the scan. */
export function validateOcsfNdjson(text: string, result: ScanResult): string[] {
  const lines = text.split('\n');
  if (lines.pop() !== '') return ['the last line does not end with a newline'];
  const problems = lines.flatMap((l, i) => validateComplianceFinding(JSON.parse(l)).map((p) => `line ${i + 1}: ${p}`));
  const events = [...eventsOfScan(result)].length;
  if (lines.length !== events) problems.push(`${lines.length} lines for ${events} events`);
  return problems;
}

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
/** Elements that load or run something: none may appear in a report a CISO opens offline. */
const ACTIVE = new Set(['script', 'iframe', 'object', 'embed', 'link', 'base', 'form', 'frame', 'frameset', 'applet', 'audio', 'video', 'img', 'image', 'use']);

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];
const isElement = (n: Node): n is Element => 'tagName' in n;

function* elements(n: Node): Generator<Element> {
  if (isElement(n)) yield n;
  const children = 'childNodes' in n ? n.childNodes : [];
  for (const c of children) yield* elements(c);
  if (isElement(n) && n.tagName === 'template') yield* elements((n as DefaultTreeAdapterMap['template']).content);
}

/**
 * HTML as a browser parses it: no parse error from the tokenizer, every non-void element closed in order, a
 * Content-Security-Policy that allows nothing external, and no element, attribute or style that loads or runs
 * anything (only `data:` images and same-document `#` links).
 */
export function validateHtml(text: string): string[] {
  const problems: string[] = [];
  const doc = parse(text, { onParseError: (e) => problems.push(`parse error ${e.code} at line ${e.startLine}`) });
  // Balance: the tree builder silently repairs misnesting, so check the tags as written.
  const stack: string[] = [];
  const body = text.replace(/<style>[\s\S]*?<\/style>/g, '<style></style>');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, rawName, selfClose] = m;
    const name = rawName.toLowerCase();
    if (close) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
    } else if (!VOID.has(name) && !selfClose) stack.push(name);
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(' > ')}`);
  let csp = '';
  for (const el of elements(doc)) {
    if (ACTIVE.has(el.tagName)) problems.push(`<${el.tagName}> element`);
    for (const a of el.attrs) {
      const name = a.name.toLowerCase();
      if (name.startsWith('on')) problems.push(`<${el.tagName} ${name}>: event handler attribute`);
      if (['src', 'href', 'xlink:href', 'action', 'formaction', 'srcset', 'poster', 'background', 'data'].includes(name) && !/^(#|data:)/.test(a.value))
        problems.push(`<${el.tagName} ${name}="${a.value}">: refers to another resource`);
      if (name === 'style' && /url\s*\(|expression\s*\(/i.test(a.value)) problems.push(`<${el.tagName} style>: url() or expression()`);
      if (el.tagName === 'meta' && name === 'http-equiv' && a.value.toLowerCase() === 'content-security-policy')
        csp = el.attrs.find((x) => x.name === 'content')?.value ?? '';
    }
    if (el.tagName === 'style') {
      const css = el.childNodes.map((c) => ('value' in c ? c.value : '')).join('');
      if (/url\s*\(|@import/i.test(css)) problems.push('<style>: url() or @import');
    }
  }
  if (!/(^|;)\s*default-src 'none'\s*(;|$)/.test(csp)) problems.push(`no Content-Security-Policy with default-src 'none' (got "${csp}")`);
  if (/script-src|connect-src|'unsafe-eval'/.test(csp)) problems.push(`the CSP allows more than styles and data: images: "${csp}"`);
  return problems;
}

/** A Markdown table row's cells: split on `|` that is neither escaped nor inside a code span. */
function mdCells(row: string): string[] | undefined {
  const cells: string[] = [];
  let cur = '';
  let code = false;
  for (let i = 0; i < row.length; i++) {
    const c = row[i];
    if (c === '\\' && i + 1 < row.length) {
      cur += c + row[++i];
      continue;
    }
    if (c === '`') code = !code;
    if (c === '|' && !code) {
      cells.push(cur);
      cur = '';
    } else cur += c;
  }
  if (code) return undefined;
  cells.push(cur);
  // A row starts and ends with a pipe: drop the empty ends.
  return cells.slice(1, -1);
}

/** Text outside code spans (escaped characters removed), where Markdown would act on markup. */
function outsideCode(line: string): string {
  return line.replace(/\\./g, '').replace(/`[^`]*`/g, '');
}

/**
 * Markdown for tickets: a `##` title; GFM tables whose every row has as many cells as the header and a delimiter row
 * under it; code spans closed on their line; outside code spans no raw HTML, no link or image and no autolink.
 */
export function validateMarkdown(text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  if (!/^## shelflife scan: \d+ findings in \d+ artifacts$/.test(lines[0])) problems.push(`title: ${lines[0]}`);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if ((line.replace(/\\./g, '').match(/`/g)?.length ?? 0) % 2) problems.push(`line ${i + 1}: unclosed code span`);
    const prose = outsideCode(line);
    if (/<\/?[a-zA-Z]/.test(prose)) problems.push(`line ${i + 1}: raw HTML`);
    if (/!?\[[^\]]*\]\(/.test(prose)) problems.push(`line ${i + 1}: a link or image`);
    if (/\b(https?|ftp):\/\/|\bwww\.|(^|\s)@[\w-]/i.test(prose)) problems.push(`line ${i + 1}: an autolink or @mention`);
    if (!line.startsWith('|')) continue;
    const header = mdCells(line);
    if (i > 0 && lines[i - 1].startsWith('|')) continue; // a body row, checked with its table
    const delimiter = mdCells(lines[i + 1] ?? '');
    if (!header || !delimiter || delimiter.some((d) => !/^:?-{3,}:?$/.test(d.trim())) || delimiter.length !== header.length) {
      problems.push(`line ${i + 2}: no delimiter row under the table header`);
      continue;
    }
    for (let j = i + 2; j < lines.length && lines[j].startsWith('|'); j++) {
      const cells = mdCells(lines[j]);
      if (!cells || cells.length !== header.length) problems.push(`line ${j + 1}: ${cells?.length ?? 'unbalanced'} cells, the header has ${header.length}`);
    }
  }
  return problems;
}

export const CSV_COLUMNS = [
  'artifact_uri',
  'parent',
  'sha256',
  'class',
  'kind',
  'format',
  'algorithm',
  'hash',
  'quantum_status',
  'classical_bits',
  'severity',
  'score',
  'subject',
  'not_after',
  'offset',
  'explanation',
  'retired_at',
  'retired_reason',
];

/** RFC 4180 records read strictly: every field quoted, quotes doubled, CRLF between records. */
function csvRecords(text: string): string[][] | string {
  const records: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const record: string[] = [];
    for (;;) {
      if (text[i] !== '"') return `offset ${i}: a field that is not quoted`;
      let field = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return `offset ${i}: an unterminated field`;
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      record.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text.startsWith('\r\n', i)) {
        i += 2;
        break;
      }
      return `offset ${i}: ${JSON.stringify(text.slice(i, i + 10))} after a field`;
    }
    records.push(record);
  }
  return records;
}

/**
 * CSV: strict RFC 4180, the header as documented, one record per finding with every column, no field a spreadsheet
 * would run (= + - @ first) and no control character inside a field.
 */
export function validateCsv(text: string, result: ScanResult): string[] {
  const records = csvRecords(text);
  if (typeof records === 'string') return [records];
  const problems: string[] = [];
  if (JSON.stringify(records[0]) !== JSON.stringify(CSV_COLUMNS)) problems.push(`header: ${records[0]?.join(',')}`);
  // One record per finding, and one for each retired artifact still present that has none.
  const findings = result.artifacts.reduce((n, a) => n + (a.findings.length || (a.retired ? 1 : 0)), 0);
  if (records.length - 1 !== findings) problems.push(`${records.length - 1} records for ${findings} findings`);
  records.forEach((r, n) => {
    if (r.length !== CSV_COLUMNS.length) problems.push(`record ${n}: ${r.length} fields`);
    for (const f of r) {
      if (/^[=+\-@\t\r]/.test(f)) problems.push(`record ${n}: a formula: ${JSON.stringify(f.slice(0, 40))}`);
      if (/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(f)) problems.push(`record ${n}: a control or bidi character`);
    }
  });
  return problems;
}

/**
 * The terminal table: the header with its columns, one row per finding (or the no-findings line), the summary with
 * the scan's counts, and the errors, each an `error [code]:` line; no control character but the line breaks.
 */
export function validateTable(text: string, result: ScanResult): string[] {
  const problems: string[] = [];
  let lines = text.replace(/\n$/, '').split('\n');
  // Retired artifacts still present come first: a headline, then per retired digest its date and reason and its
  // locations, then an empty line.
  const retired = result.artifacts.filter((a) => a.retired);
  if (retired.length) {
    const end = lines.indexOf('');
    const block = lines.slice(0, end);
    if (!/^RETIRED BUT STILL PRESENT: \d+ locations? of \d+ retired artifacts? /.test(block[0] ?? '')) problems.push(`retired headline: ${block[0]}`);
    for (const a of retired) if (!block.some((l) => l.includes(a.retired!.at.slice(0, 10)))) problems.push(`retired: no line for ${a.uri}`);
    lines = lines.slice(end + 1);
  } else if (lines[0]?.startsWith('RETIRED')) problems.push('a retired headline with nothing retired');
  const findings = result.artifacts.reduce((n, a) => n + a.findings.length, 0);
  const scored = result.artifacts.some((a) => a.findings.some((f) => f.exposure));
  const columns = [...(scored ? ['SEVERITY'] : []), 'KIND', 'ALGORITHM', 'QUANTUM', 'FORMAT', 'ARTIFACT'];
  if (findings) {
    if (JSON.stringify(lines[0].trim().split(/\s{2,}/)) !== JSON.stringify(columns)) problems.push(`header: ${lines[0]}`);
    const kinds = new Set(['certificate', 'signature', 'public-key', 'private-key', 'encrypted-data']);
    for (const row of lines.slice(1, 1 + findings)) {
      const cells = row.split(/\s{2,}/);
      if (!kinds.has(cells[scored ? 1 : 0])) problems.push(`row: ${row}`);
    }
  } else if (lines[0] !== 'No signatures, certificates, keys or encrypted data found.') problems.push(`first line: ${lines[0]}`);
  const s = result.scan.stats;
  const summary = lines[findings ? findings + 2 : 2];
  if (!new RegExp(`^${s.artifacts} artifacts, [\\d.]+ (B|KiB|MiB|GiB|TiB), ${s.findings} findings( \\(.*\\))?, ${s.errors} errors$`).test(summary ?? ''))
    problems.push(`summary: ${summary}`);
  const errors = lines.slice((findings ? findings + 2 : 2) + 2);
  const errorCount = result.artifacts.reduce((n, a) => n + a.errors.length, 0);
  if (errors.filter((l) => l.startsWith('error [')).length !== Math.min(errorCount, 50)) problems.push(`${errors.length} error lines for ${errorCount} errors`);
  lines.forEach((l, i) => {
    if (/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(l)) problems.push(`line ${i + 1}: a control or bidi character`);
  });
  return problems;
}

/** The validator of a format, by REPORTERS id. */
export function validateReport(format: ReportFormat, text: string, result: ScanResult): string[] {
  switch (format) {
    case 'json':
      return validateJsonReport(text);
    case 'sarif':
      return validateSarif(text);
    case 'cbom':
      return validateCycloneDx(text);
    case 'ocsf':
      return validateOcsfNdjson(text, result);
    case 'html':
      return validateHtml(text);
    case 'md':
      return validateMarkdown(text);
    case 'csv':
      return validateCsv(text, result);
    case 'table':
      return validateTable(text, result);
  }
}
