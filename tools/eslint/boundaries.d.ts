// Types for boundaries.js (plain JavaScript, loaded by eslint.config.js), so test/tools/boundaries.test.ts can use it.
import type { Rule } from 'eslint';

export declare const boundaries: Rule.RuleModule;
