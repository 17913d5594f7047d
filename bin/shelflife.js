#!/usr/bin/env node
// The binary is trivial: everything lives in the library (src/cli/main.ts).
import { main } from '../dist/src/cli/main.js';

// `shelflife scan … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
main(process.argv).then((code) => {
  process.exitCode = code;
});
