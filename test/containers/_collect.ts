/** Drain a container handler over in-memory bytes: member paths, sizes and problems, or the error it threw. */
import { judged } from '../../src/containers/open.js';
import type { ContainerHandler } from '../../src/containers/types.js';
import { ExpansionBudget } from '../../src/containers/types.js';

export async function members(handler: ContainerHandler, bytes: Uint8Array, budget = new ExpansionBudget()) {
  const out: { path: string; size?: number; bytes?: Uint8Array; problem?: string }[] = [];
  let error: (Error & { code?: string }) | undefined;
  try {
    // Names are judged where every container is opened (src/containers/open.ts), as the engine sees them.
    for await (const m of judged(
      handler.members(
        {
          uri: 'file:///t/x',
          name: 'x',
          bytes,
          size: bytes.length,
          open: async function* () {
            yield bytes;
          },
        },
        budget,
      ),
    )) {
      let data = m.bytes;
      if (!data && m.stream) {
        const parts: Uint8Array[] = [];
        for await (const c of m.stream) parts.push(c);
        data = new Uint8Array(Buffer.concat(parts));
      }
      out.push({ path: m.path, size: m.size, bytes: data, ...(m.problem ? { problem: m.problem.code } : {}) });
    }
  } catch (e) {
    error = e as Error & { code?: string };
  }
  return { members: out, error };
}
