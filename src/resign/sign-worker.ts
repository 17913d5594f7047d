/**
 * A signing worker (node:worker_threads): holds one private key and signs the messages it is sent. ML-DSA signing is
 * the expensive step of resign, so the pool in pool.ts spreads it over the cores while the main thread hashes.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { algorithmByOid, privateKeyFromBytes, sign } from './composite.js';

const { oid, key } = workerData as { oid: string; key: Uint8Array };
const alg = algorithmByOid(oid);
if (!alg) throw new Error(`sign-worker: unknown algorithm ${oid}`);
const privateKey = privateKeyFromBytes(alg, key);

parentPort!.on('message', ({ id, message }: { id: number; message: Uint8Array }) => {
  try {
    const signature = sign(privateKey, message);
    parentPort!.postMessage({ id, signature }, [signature.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id, error: (e as Error).message });
  }
});
