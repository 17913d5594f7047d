/**
 * What both scan paths (scan() and a distributed unit, src/scan/unit.ts) do with a source's walk before the engine
 * sees it: problems are set aside for the finish step, the same URI seen twice (an object listed twice, a layer two
 * tags share) is one artifact, and a location listed but not read on purpose (a symlink out of the root, a FIFO) is a
 * note on its path, not an error.
 * @module
 */
import type { ArtifactResult } from '../model.js';
import { isProblem, isSkipped, type ArtifactRef, type SkippedLocation, type SourceProblem } from '../sources/types.js';

/** The refs of `items` the engine should read, once each by URI; problems and skipped locations go to their callbacks. */
export async function* refsToRead(
  items: AsyncIterable<ArtifactRef | SourceProblem | SkippedLocation>,
  yielded: Set<string>,
  problems: SourceProblem[],
  onSkipped: (res: ArtifactResult) => void,
): AsyncIterable<ArtifactRef> {
  for await (const item of items) {
    if (isProblem(item)) {
      problems.push(item);
      continue;
    }
    if (yielded.has(item.uri)) continue;
    yielded.add(item.uri);
    if (isSkipped(item)) onSkipped({ uri: item.uri, parent: null, sha256: null, size: 0, skipped: item.skipped, findings: [], errors: [] });
    else yield item;
  }
}
