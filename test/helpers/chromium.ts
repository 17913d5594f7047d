/**
 * Headless Chromium driven over the DevTools protocol (a WebSocket from undici), for layout checks a person would make
 * on the HTML report: the page is loaded at a given viewport width and an expression is evaluated in it (the report
 * itself runs no script; its CSP forbids one). Programs come from test/helpers/prerequisites.ts.
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'undici';
import { findProgram } from './prerequisites.js';

export const CHROMIUM = ['chromium', 'chromium-browser', 'google-chrome'].map(findProgram).find(Boolean);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Load `url` in a viewport `width` × `height` CSS pixels and return what `expression` evaluates to (by value). */
export async function evaluateInPage<T>(url: string, width: number, height: number, expression: string): Promise<T> {
  const profile = mkdtempSync(join(tmpdir(), 'shelflife-chromium-'));
  const proc = spawn(
    CHROMIUM!,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--host-resolver-rules=MAP * ~NOTFOUND',
      '--remote-debugging-port=0',
      '--remote-debugging-address=127.0.0.1',
      `--user-data-dir=${profile}`,
      `--window-size=${width},${height}`,
      'about:blank',
    ],
    { stdio: 'ignore' },
  );
  try {
    const portFile = join(profile, 'DevToolsActivePort');
    for (let i = 0; i < 600 && !existsSync(portFile); i++) await sleep(100);
    const port = readFileSync(portFile, 'utf8').split('\n')[0];
    let targets: { type: string; webSocketDebuggerUrl: string }[] = [];
    for (let i = 0; i < 100 && !targets.some((t) => t.type === 'page'); i++) {
      targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as typeof targets;
      if (!targets.some((t) => t.type === 'page')) await sleep(100);
    }
    const ws = new WebSocket(targets.find((t) => t.type === 'page')!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve);
      ws.addEventListener('error', reject);
    });
    let next = 0;
    const pending = new Map<number, (m: { result?: unknown; error?: unknown }) => void>();
    const events: ((m: { method?: string }) => void)[] = [];
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(String(ev.data)) as { id?: number; method?: string; result?: unknown; error?: unknown };
      if (m.id !== undefined) pending.get(m.id)?.(m);
      else for (const e of events) e(m);
    });
    const send = (method: string, params: object = {}) =>
      new Promise<{ result?: unknown; error?: unknown }>((resolve) => {
        const id = ++next;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      });
    await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    await send('Page.enable');
    const loaded = new Promise<void>((resolve) => events.push((m) => m.method === 'Page.loadEventFired' && resolve()));
    await send('Page.navigate', { url });
    await loaded;
    const r = (await send('Runtime.evaluate', { expression, returnByValue: true })) as { result?: { result?: { value?: T }; exceptionDetails?: unknown } };
    if (r.result?.exceptionDetails) throw new Error(`evaluation failed: ${JSON.stringify(r.result.exceptionDetails)}`);
    ws.close();
    return r.result!.result!.value as T;
  } finally {
    proc.kill('SIGKILL');
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
    rmSync(profile, { recursive: true, force: true });
  }
}
