#!/usr/bin/env node
// The binary is trivial: everything lives in the library (src/cli/main.ts), bundled by the build into dist/cli/
// (tools/build.mjs) so that a start-up reads a few files rather than every module.
import { main } from '../dist/cli/main.js';

// `shelflife scan … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
main(process.argv).then((code) => {
  process.exitCode = code;
});
