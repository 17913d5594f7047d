/**
 * The CLI: parses flags, calls the library, renders. Each command lives in its own module and registers itself
 * here with one line. Exit codes are decided in one place (EXIT):
 *   0 ok · 1 a finding reached --fail-on (or verify failed) · 2 usage or configuration error · 3 internal error ·
 *   4 SIEM delivery incomplete (events stay spooled; `shelflife sinks flush`).
 * @module
 */
import { Command, CommanderError } from 'commander';
import { ShelflifeError, UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerExplain } from './explain-command.js';
import { registerScan } from './scan-command.js';
import { registerSinks } from './sinks-command.js';
import { registerInventoryCommands } from './inventory-commands.js';
import { registerSchedule } from './schedule-command.js';
import { registerKeygen } from './keygen-command.js';
import { registerResign } from './resign-command.js';
import { registerVerify } from './verify-command.js';

export const EXIT = { OK: 0, FINDINGS: 1, USAGE: 2, INTERNAL: 3, SINK_PENDING: 4 } as const;

/** Commands register themselves: (program) => void. Add new commands to this list. */
const COMMANDS: ((program: Command) => void)[] = [registerScan, registerInventoryCommands, registerSchedule, registerExplain, registerKeygen, registerResign, registerVerify, registerSinks];

export function createProgram(): Command {
  const program = new Command('shelflife')
    .description('Find and fix the quantum-vulnerable cryptography on long-lived artifacts')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of COMMANDS) register(program);
  return program;
}

/** Run the CLI; resolves to the exit code (the bin sets process.exitCode). */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    return reportError(e);
  }
}

export function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
    return EXIT.USAGE; // commander already printed the message
  }
  if (e instanceof UsageError || (e instanceof ShelflifeError && (e.code === 'usage' || e.code === 'config' || e.code === 'rules'))) {
    process.stderr.write(`shelflife: error: ${e.message}\n`);
    if (e instanceof ShelflifeError && e.code === 'rules') process.stderr.write('shelflife: hint: fix the rule file at the line named above\n');
    return EXIT.USAGE;
  }
  if (e instanceof ShelflifeError) {
    process.stderr.write(`shelflife: error: ${e.message}\n`);
    return EXIT.FINDINGS;
  }
  process.stderr.write(`shelflife: error: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
  process.stderr.write('shelflife: hint: this is a bug in shelflife; please report it with the command you ran\n');
  return EXIT.INTERNAL;
}
