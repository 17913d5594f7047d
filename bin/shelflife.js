#!/usr/bin/env node
// The binary is trivial: everything lives in the library (src/cli/main.ts).
import { main } from '../dist/src/cli/main.js';
main(process.argv).then((code) => { process.exitCode = code; });
