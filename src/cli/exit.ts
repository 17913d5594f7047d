/**
 * Exit codes, decided in one place (see src/cli/main.ts and the README's table). When several apply, the first of
 * INCOMPLETE, OPERATIONAL, FINDINGS, SINK_PENDING wins: a scan that could not read part of its targets, or could not
 * record itself, must not look like a scan that did everything, whatever it found.
 */
export const EXIT = {
  OK: 0,
  /** A finding reached `--fail-on`, a new or worse finding in `diff`, or a verification failed. */
  FINDINGS: 1,
  USAGE: 2,
  INTERNAL: 3,
  SINK_PENDING: 4,
  /** The run finished, but part of its targets could not be read (a missing target, an unreachable store, a directory or file it may not read): the scan is recorded as partial. */
  INCOMPLETE: 5,
  /** The run could not do its job: the inventory, the network, a re-signing or a report failed (never a finding). */
  OPERATIONAL: 6,
} as const;
