/**
 * A detection thread (node:worker_threads) of the pool in detect-pool.ts: runs the detector registry over the bytes it
 * is sent and answers with what they found. The registry is pure, so a thread answers exactly what the main thread
 * would; the main thread keeps walking, reading, hashing, recording and writing.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { runDetectors, type RunOptions } from '../detectors/index.js';
import type { DetectContext } from '../model.js';

interface DetectJob {
  id: number;
  bytes: Uint8Array;
  ctx: DetectContext;
  options: RunOptions;
}

parentPort!.on('message', (jobs: DetectJob[]) => {
  const answers = jobs.map(({ id, bytes, ctx, options }) => {
    // runDetectors turns every detector's failure into an error entry; what escapes it is a bug in the registry
    // itself, handed to the main thread to fail that artifact's scan there as it would inline.
    try {
      return { id, result: runDetectors(bytes, ctx, options) };
    } catch (e) {
      return { id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
  });
  parentPort!.postMessage(answers);
});
