/** Exit codes, decided in one place (see src/cli/main.ts and the README). */
export const EXIT = { OK: 0, FINDINGS: 1, USAGE: 2, INTERNAL: 3, SINK_PENDING: 4 } as const;
