/**
 * The expected coverage of fixtures/coverage/tree (fixtures/coverage/expected-coverage.json, written from the
 * signing tools' own view of what each signature signs), shared by the directory and the remote-store coverage tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './scan.js';

export interface ExpectedCoverage {
  coverage?: string;
  signed?: boolean;
  signedBy: { signature: string; via: string; verification: string; index?: string }[];
  failed?: string[];
  mismatch?: string[];
}

export const COVERAGE_TREE = join(FIXTURES, 'coverage', 'tree');
export const EXPECTED_COVERAGE = JSON.parse(readFileSync(join(FIXTURES, 'coverage', 'expected-coverage.json'), 'utf8')) as {
  files: Record<string, ExpectedCoverage>;
};
