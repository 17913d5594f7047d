// Lint: the rules that keep "one of each" (docs/DEVELOPING.md): no floating promises, no unused code, no empty
// catch that turns a failure into a verdict, and the import boundaries in tools/eslint/boundaries.js.
// Formatting is Prettier's (.prettierrc.json); `npm run lint` runs both.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { boundaries } from './tools/eslint/boundaries.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'fixtures/**', 'reports/**', 'coverage/**', '.bench-data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    plugins: { shelflife: { rules: { boundaries } } },
    rules: {
      // The import boundaries of docs/DEVELOPING.md ("What may import what"); no crossing is left, so any is an error.
      'shelflife/boundaries': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      // A `catch {}` is allowed only with a comment saying why the failure does not matter.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-control-regex': 'off',
      '@typescript-eslint/no-this-alias': 'off',
      // Errors as data (docs/DEVELOPING.md "Errors"): the subject goes in `uri`, never in front of the message; usage
      // errors are made one way.
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='ShelflifeError'][arguments.0.value='usage']",
          message: "Make usage errors with new UsageError(message, { uri }), not new ShelflifeError('usage', …).",
        },
        {
          selector:
            ":matches(NewExpression > TemplateLiteral.arguments, Property[key.name='message'] > TemplateLiteral.value)[quasis.0.value.raw=''][quasis.1.value.raw=/^: /]:matches([expressions.0.name=/(uri|url|Uri|Url)$/], [expressions.0.property.name=/(uri|url|Uri|Url)$/])",
          message: 'An error message is the reason alone: pass the URI as { uri } (ShelflifeError) or the `uri` field (ErrorEntry).',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
);
