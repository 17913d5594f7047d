/** Runs the shelflife CLI from source, for tests that need a real child process (kill mid-run). */
import { main } from '../../src/cli/main.js';

void main(process.argv).then((code) => {
  process.exitCode = code;
});
