/**
 * A CEF reader for tests: what a receiver makes of shelflife's CEF lines. Header fields and extension values come
 * back unescaped ("Implementing ArcSight CEF": `\\` and `|` in the header; `\\`, `=`, `\\n`, `\\r` in values).
 */
export function parseCef(line: string): { header: string[]; extension: Record<string, string> } {
  const header: string[] = [];
  let i = 0;
  let cur = '';
  while (header.length < 7 && i < line.length) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      cur += line[i + 1];
      i += 2;
    } else if (c === '|') {
      header.push(cur);
      cur = '';
      i++;
    } else {
      cur += c;
      i++;
    }
  }
  const rest = line.slice(i);
  const extension: Record<string, string> = {};
  // A key starts at `name=` after a space; every `=` inside a value is escaped, so this cannot match inside one.
  const re = /(?:^| )([A-Za-z0-9_]+)=/g;
  const starts: { key: string; at: number; valueAt: number }[] = [];
  for (let m = re.exec(rest); m; m = re.exec(rest)) starts.push({ key: m[1], at: m.index, valueAt: m.index + m[0].length });
  starts.forEach((s, k) => {
    const end = k + 1 < starts.length ? starts[k + 1].at : rest.length;
    extension[s.key] = rest.slice(s.valueAt, end).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
  });
  return { header, extension };
}
