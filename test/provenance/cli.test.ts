/**
 * `shelflife provenance` through the real binary (exit codes, formats, --require as an admission check), and
 * `provenance serve` queried over HTTP while the model's files change.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProvenanceAnswer } from '../../src/provenance/answer.js';
import { loadTrust } from '../../src/provenance/trust.js';
import { serveProvenance } from '../../src/provenance/serve.js';
import { FIXTURES } from '../helpers/scan.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const P = join(FIXTURES, 'provenance');
const HF = join(P, 'models', 'hf-model');
const EVIDENCE = join(P, 'evidence', 'hf-model');
const TRUST = join(P, 'trust.yaml');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('shelflife provenance (CLI)', () => {
  it('JSON when piped; --require holds: exit 0', () => {
    const r = run(['provenance', HF, '--trust', TRUST, '--evidence', EVIDENCE, '--require', 'approved,integrity', '--require', 'lineage']);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as ProvenanceAnswer;
    expect(a.schemaVersion).toBe('1');
    expect(Object.keys(a)).toEqual(expect.arrayContaining(['subject', 'integrity', 'lineage', 'evaluation', 'approval', 'retired', 'copies', 'quantum']));
    expect(a.approval.approved).toBe(true);
  });

  it('--require that does not hold: exit 1 and says which', () => {
    const r = run(['provenance', HF, '--evidence', EVIDENCE, '--require', 'approved,integrity', '--format', 'table']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/requirement not met: approved/);
    expect(r.stderr).toMatch(/requirement not met: integrity/);
    expect(r.stdout).toMatch(/^integrity\s+signed\s+verified/m);
  });

  it('usage errors exit 2: unknown requirement, missing model, bad trust file', () => {
    expect(run(['provenance', HF, '--require', 'blessed']).stderr).toMatch(/--require: "blessed" is not one of/);
    expect(run(['provenance', HF, '--require', 'blessed']).code).toBe(2);
    const missing = run(['provenance', join(P, 'no-such-model')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such-model: cannot read the model: ENOENT/);
    const d = mkdtempSync(join(tmpdir(), 'shelflife-trust-'));
    writeFileSync(join(d, 't.yaml'), 'keys: [{name: k}]\n');
    const bad = run(['provenance', HF, '--trust', join(d, 't.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/t\.yaml:1: .* at keys\.0\.publicKey/);
  });

  it('md and html render every question, escaped', () => {
    const md = run(['provenance', HF, '--trust', TRUST, '--evidence', EVIDENCE, '--format', 'md']);
    expect(md.code).toBe(0);
    for (const q of ['subject', 'integrity', 'lineage', 'evaluation', 'approval', 'retired', 'copies', 'quantum'])
      expect(md.stdout).toMatch(new RegExp(`^\\| ${q} \\|`, 'm'));
    const d = mkdtempSync(join(tmpdir(), 'shelflife-prov-html-'));
    const out = join(d, 'p.html');
    expect(run(['provenance', HF, '--trust', TRUST, '--evidence', EVIDENCE, '--format', 'html', '-o', out]).code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/<td class="g-signed-verified">signed-verified<\/td><td>approved: SVR from approver &quot;release-gate&quot;/);
    expect(html).not.toMatch(/<script/);
  });
});

describe('provenance serve', () => {
  it('answers GET /provenance, recomputes when the model changes, and is read-only', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'shelflife-serve-')), 'model');
    cpSync(HF, dir, { recursive: true });
    let recomputed = 0;
    const s = await serveProvenance({ model: dir, host: '127.0.0.1', port: 0, trust: loadTrust(TRUST), evidence: [EVIDENCE], onRecompute: () => recomputed++ });
    try {
      const get = async (path = '/provenance') => {
        const r = await fetch(`${s.url}${path}`);
        return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
      };
      const first = JSON.parse((await get()).body) as ProvenanceAnswer;
      expect(first.integrity.status).toBe('verified');
      expect(first.approval.approved).toBe(true);
      await get();
      expect(recomputed).toBe(1); // unchanged files: served from cache
      // The inference server's model is swapped under it: the next answer says so.
      const b = readFileSync(join(dir, 'model.gguf'));
      b[b.length - 1] ^= 1;
      writeFileSync(join(dir, 'model.gguf'), b);
      const second = JSON.parse((await get()).body) as ProvenanceAnswer;
      expect(recomputed).toBe(2);
      expect(second.integrity).toMatchObject({ status: 'modified', changed: ['model.gguf'] });
      expect(second.approval.approved).toBe('unknown');
      const md = await get('/provenance?format=md');
      expect(md.type).toMatch(/text\/markdown/);
      expect((await get('/provenance?format=xml')).status).toBe(400);
      expect((await get('/other')).status).toBe(404);
      const post = await fetch(`${s.url}/provenance`, { method: 'POST', body: 'x' });
      expect(post.status).toBe(405);
      expect((await get(`/provenance?${'a'.repeat(5000)}`)).status).toBe(414);
    } finally {
      await s.close();
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });

  it('serves only a model on local disk', async () => {
    await expect(serveProvenance({ model: 'oci://127.0.0.1:1/models/x:v1', host: '127.0.0.1', port: 0 })).rejects.toThrow(/model on local disk/);
  });

  it('the CLI serves on the address given and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'provenance', 'serve', '--model', HF, '--listen', '127.0.0.1:0'], { cwd: ROOT });
    const line = await new Promise<string>((ok, fail) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /at (http:\/\/127\.0\.0\.1:\d+)\/provenance/.exec(err);
        if (m) ok(m[1]);
      });
      child.once('exit', () => fail(new Error(err)));
    });
    const r = await fetch(`${line}/provenance`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as ProvenanceAnswer).integrity.status).toBe('verified');
    const exited = new Promise<number | null>((ok) => child.once('exit', (c) => ok(c)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(run(['provenance', 'serve', '--model', HF, '--listen', 'nowhere']).stderr).toMatch(/--listen: "nowhere" is not host:port/);
  });
});
