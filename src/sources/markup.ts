/**
 * A streaming tokenizer for the XML and HTML the release stores publish (rpm-md repomd/primary, AppStream firmware
 * metadata, autoindex directory listings): tags with their attributes, text, and nothing more (no DTDs, no entities
 * beyond the five predefined and numeric references, no namespaces beyond the prefixed name). Written for hostile
 * input: every character is looked at a bounded number of times whatever the document holds (`<a <a <a …`, a quote
 * that never closes, a tag that never ends), so time is linear in the input; a tag or a text run is held only up to a
 * cap, so memory is bounded however the document is cut into chunks. Lenient like a browser: what does not parse as
 * a tag is text.
 * @module
 */
import { LimitError } from '../errors.js';

/** A tag longer than this (its name and attributes) is not a tag: it is skipped as text. */
export const MAX_TAG_CHARS = 64 * 1024;
/** Attributes read from one tag; the rest are ignored. */
const MAX_ATTRIBUTES = 64;
/** Text kept per run; longer text is cut (index fields are names, hashes and URLs). */
export const MAX_TEXT_CHARS = 64 * 1024;

export type MarkupToken =
  { type: 'open'; name: string; attrs: Record<string, string>; selfClosing: boolean } | { type: 'close'; name: string } | { type: 'text'; text: string };

/**
 * Characters the tokenizers of this process have looked at, counted where they look (each scan by the positions it
 * covered, each copy and comparison by its length). Linearity is a count, not a clock: the tests compare it with the
 * length of the input, so a loaded machine cannot make them fail and a quadratic tokenizer cannot pass.
 */
export const tokenizerWork = { chars: 0 };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The five XML entities and numeric character references; anything else is left as written. */
export function decodeEntities(s: string): string {
  tokenizerWork.chars += s.length;
  if (!s.includes('&')) return s;
  return s.replace(/&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (m, e: string) => {
    if (e[0] !== '#') return ENTITIES[e];
    const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1));
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}

const isNameChar = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x3a || c === 0x2d || c === 0x5f || c === 0x2e;
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** `name="v" name='v' name=v name` → attributes, in one left-to-right pass over the tag's inside. */
function parseAttributes(s: string, lowerCase: boolean): Record<string, string> {
  const attrs: Record<string, string> = {};
  let i = 0;
  let n = 0;
  while (i < s.length && n < MAX_ATTRIBUTES) {
    while (i < s.length && (isSpace(s.charCodeAt(i)) || s[i] === '/')) i++;
    const start = i;
    while (i < s.length && !isSpace(s.charCodeAt(i)) && s[i] !== '=' && s[i] !== '/') i++;
    if (i === start) break;
    const raw = s.slice(start, i);
    const name = lowerCase ? raw.toLowerCase() : raw;
    while (i < s.length && isSpace(s.charCodeAt(i))) i++;
    let value = '';
    if (s[i] === '=') {
      i++;
      while (i < s.length && isSpace(s.charCodeAt(i))) i++;
      const q = s[i];
      if (q === '"' || q === "'") {
        const end = s.indexOf(q, i + 1);
        value = s.slice(i + 1, end < 0 ? s.length : end);
        i = end < 0 ? s.length : end + 1;
      } else {
        const vs = i;
        while (i < s.length && !isSpace(s.charCodeAt(i))) i++;
        value = s.slice(vs, i);
      }
    }
    if (!(name in attrs)) attrs[name] = decodeEntities(value);
    n++;
  }
  return attrs;
}

/**
 * Incremental tokenizer: `push` text as it arrives (chunks may cut anywhere), `end` at the end of the document.
 * `html`: names are lower-cased (HTML is case-insensitive; XML is not).
 */
export class MarkupTokenizer {
  private buf = '';
  private text = '';
  /** Inside a tag whose `>` has not arrived yet: where to resume looking (never behind what was already scanned). */
  private scan = 0;
  private quote = '';

  constructor(private readonly html = false) {}

  push(chunk: string): MarkupToken[] {
    tokenizerWork.chars += this.buf.length + chunk.length;
    this.buf += chunk;
    return this.drain(false);
  }

  end(): MarkupToken[] {
    return this.drain(true);
  }

  private emitText(s: string): void {
    tokenizerWork.chars += s.length;
    if (this.text.length < MAX_TEXT_CHARS) this.text += s.slice(0, MAX_TEXT_CHARS - this.text.length);
  }

  private flushText(out: MarkupToken[]): void {
    if (this.text) out.push({ type: 'text', text: decodeEntities(this.text) });
    this.text = '';
  }

  private drain(final: boolean): MarkupToken[] {
    const out: MarkupToken[] = [];
    let buf = this.buf;
    let pos = 0;
    for (;;) {
      if (this.scan === 0) {
        // Outside a tag: text up to the next '<'.
        const lt = buf.indexOf('<', pos);
        tokenizerWork.chars += (lt < 0 ? buf.length : lt + 1) - pos;
        if (lt < 0) {
          this.emitText(buf.slice(pos));
          pos = buf.length;
          break;
        }
        this.emitText(buf.slice(pos, lt));
        pos = lt;
        this.scan = 1;
        this.quote = '';
      }
      // Too little arrived to tell a comment or CDATA section from a tag: wait for more.
      if (!final && this.scan === 1 && buf.length - pos < 9 && ['<!--', '<![CDATA['].some((m) => m.startsWith(buf.slice(pos)))) break;
      // Inside a tag starting at `pos`: find its end, skipping quoted values; a '<' outside quotes means the first '<'
      // was text. `scan` remembers how far we looked, so no character is looked at twice when more data arrives.
      const special = buf.startsWith('<!--', pos) ? '-->' : buf.startsWith('<![CDATA[', pos) ? ']]>' : buf.startsWith('<?', pos) ? '?>' : '';
      let end = -1;
      let textInstead = false;
      if (special) {
        end = buf.indexOf(special, pos + this.scan);
        tokenizerWork.chars += (end < 0 ? buf.length : end + special.length) - (pos + this.scan);
        if (end < 0) this.scan = Math.max(1, buf.length - pos - special.length + 1);
        else end += special.length - 1;
      } else {
        const from = pos + this.scan;
        let i = from;
        let q = this.quote;
        for (; i < buf.length; i++) {
          const c = buf[i];
          if (q) {
            if (c === q) q = '';
          } else if (c === '"' || c === "'") {
            // Quotes count only inside an attribute value (after '='), so a stray quote in text cannot swallow the rest.
            if (buf[i - 1] === '=' || (isSpace(buf.charCodeAt(i - 1)) && /=\s*$/.test(buf.slice(Math.max(pos, i - 8), i)))) q = c;
            tokenizerWork.chars += 8;
          } else if (c === '>') {
            end = i;
            break;
          } else if (c === '<') {
            textInstead = true;
            end = i;
            break;
          }
        }
        tokenizerWork.chars += i - from + 1;
        this.quote = q;
        if (end < 0) this.scan = i - pos;
      }
      if (end < 0) {
        if (final || buf.length - pos > MAX_TAG_CHARS) {
          // A tag that never ends (or is absurdly long) is text, all of what was scanned: nothing is looked at again.
          this.emitText(buf.slice(pos));
          pos = buf.length;
          this.scan = 0;
          this.quote = '';
          if (final) break;
          continue;
        }
        break;
      }
      this.scan = 0;
      if (textInstead) {
        this.emitText(buf.slice(pos, end));
        pos = end;
        continue;
      }
      const tag = buf.slice(pos, end + 1);
      tokenizerWork.chars += tag.length;
      pos = end + 1;
      if (special === ']]>') this.emitText(tag.slice(9, -3));
      if (special) continue;
      this.tag(tag, out);
    }
    if (final) {
      this.flushText(out);
      this.buf = '';
      return out;
    }
    // Keep only the unfinished tag (bounded by MAX_TAG_CHARS); text already went out.
    tokenizerWork.chars += buf.length - pos;
    this.buf = buf.slice(pos);
    buf = '';
    return out;
  }

  private tag(tag: string, out: MarkupToken[]): void {
    // Sliced out, its name read, its attributes read in one pass: each a walk over the tag.
    tokenizerWork.chars += 3 * tag.length;
    const inner = tag.slice(1, -1);
    if (inner[0] === '!') return; // <!DOCTYPE …>
    const closing = inner[0] === '/';
    let i = closing ? 1 : 0;
    const start = i;
    while (i < inner.length && isNameChar(inner.charCodeAt(i))) i++;
    if (i === start) {
      this.emitText(tag);
      return;
    }
    this.flushText(out);
    const raw = inner.slice(start, i);
    const name = this.html ? raw.toLowerCase() : raw;
    if (closing) {
      out.push({ type: 'close', name });
      return;
    }
    const selfClosing = inner.endsWith('/');
    out.push({ type: 'open', name, attrs: parseAttributes(inner.slice(i, selfClosing ? -1 : undefined), this.html), selfClosing });
    if (selfClosing) out.push({ type: 'close', name });
  }
}

/** Every token of a whole document (tests, small documents). */
export function tokenize(text: string, html = false): MarkupToken[] {
  return [...tokens(text, html)];
}

/** The tokens of a document held in memory, produced as they are read (no array of every token). */
export function* tokens(text: string, html = false): Iterable<MarkupToken> {
  const t = new MarkupTokenizer(html);
  for (let at = 0; at < text.length; at += 64 * 1024) yield* t.push(text.slice(at, at + 64 * 1024));
  yield* t.end();
}

/** Tokens of a stream of decoded text chunks, as they complete. */
export async function* tokenizeStream(chunks: AsyncIterable<string>, html = false): AsyncIterable<MarkupToken> {
  const t = new MarkupTokenizer(html);
  for await (const c of chunks) yield* t.push(c);
  yield* t.end();
}

/** UTF-8 bytes → text chunks (a character cut between two chunks is joined). */
export async function* decodeChunks(chunks: AsyncIterable<Uint8Array>): AsyncIterable<string> {
  const d = new TextDecoder();
  for await (const c of chunks) yield d.decode(c, { stream: true });
  yield d.decode();
}

/** Counts records a document yields and stops with a limit error past `max`. */
export function countRecords(max: number, what: string): () => void {
  let n = 0;
  return () => {
    if (++n > max) throw new LimitError('limit-entries', `more than ${max} entries; the rest were not read`, { uri: what });
  };
}
