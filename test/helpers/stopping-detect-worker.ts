/**
 * A detection thread that stops on the first batch it is sent, as one that ran out of memory would: what the pool
 * does with the artifacts it held and with the rest (test/scan/threads.test.ts).
 */
import { parentPort } from 'node:worker_threads';

parentPort!.on('message', () => process.exit(3));
