/**
 * `shelflife verify <artifact> --sig <file.p7s|bundle.json> --cert <crt>`: both halves of a composite signature must
 * verify; on failure it says which (the ML-DSA half, the classical half, or the artifact digest).
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { displayText, safeJson } from '../report/text.js';
import { loadCertificate } from '../resign/keyfiles.js';
import { verifyArtifact } from '../resign/resign.js';
import { FsWriter } from '../resign/writers/fs.js';
import { MAX_SIDECAR_BYTES } from '../resign/writers/types.js';
import { fileUri } from '../sources/fs.js';

export interface VerifyCliOptions {
  sig?: string;
  cert?: string;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('verify an artifact against its hybrid signature (.p7s or JSON bundle): both halves must verify')
    .argument('<artifact>', 'a file, or a file:// URI of an archive member (file:///a.tar!/dir/x)')
    .option('--sig <file>', 'the signature (default: <artifact>.p7s)')
    .option('--cert <file>', 'the signer certificate to require (without it, the one inside the signature is used: integrity only)')
    .option('--json', 'print the result as JSON')
    .action(async (artifact: string, opts: VerifyCliOptions) => {
      process.exitCode = await runVerifyCommand(artifact, opts);
    });
}

export async function runVerifyCommand(artifact: string, opts: VerifyCliOptions): Promise<number> {
  const uri = artifact.startsWith('file://') ? artifact : fileUri(resolve(artifact));
  const writer = new FsWriter();
  const sigPath = opts.sig ?? writer.locate(uri, 'p7s')[0].address;
  if (!existsSync(sigPath)) throw new UsageError('no such signature file (pass --sig)', { uri: sigPath });
  if (statSync(sigPath).size > MAX_SIDECAR_BYTES) throw new UsageError(`larger than ${MAX_SIDECAR_BYTES} bytes; not a shelflife signature`, { uri: sigPath });
  const signature = readFileSync(sigPath);
  const cert = opts.cert ? loadCertificate(opts.cert) : undefined;
  const r = await verifyArtifact(() => writer.openArtifact(uri), signature, cert, sigPath);
  if (opts.json) {
    process.stdout.write(`${safeJson({ artifact: uri, signature: sigPath, ...r }, 2)}\n`);
  } else if (r.valid) {
    const halves = r.traditional === null ? 'the ML-DSA signature verifies' : 'both halves verify';
    process.stdout.write(
      `${displayText(`OK ${artifact}: ${r.algorithm}: ${halves}; signer ${r.signer}${r.embeddedCertificate ? ' (certificate taken from the signature itself: pass --cert to pin the signer)' : ''}`)}\n`,
    );
  } else {
    process.stdout.write(`${displayText(`FAILED ${artifact}: ${r.reason}`)}\n`);
    if (r.digestMatches && r.traditional !== null)
      process.stdout.write(`  ML-DSA half: ${r.mldsa ? 'ok' : 'FAILED'}; classical half: ${r.traditional ? 'ok' : 'FAILED'}\n`);
  }
  if (r.otherSigners.length && !opts.json) process.stdout.write(`${displayText(`  also signed by ${r.otherSigners.join(', ')} (not checked here)`)}\n`);
  // Exit 1 on a failed verification, as main.ts's EXIT table defines (not imported: main imports this module).
  return r.valid ? 0 : 1;
}
