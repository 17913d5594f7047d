/**
 * The CLI: parses flags, calls the library, renders. Each command lives in its own module and registers itself
 * here with one line. Exit codes are decided in one place (EXIT):
 *   0 ok · 1 a finding reached --fail-on (or verify failed) · 2 usage or configuration error · 3 internal error ·
 *   4 SIEM delivery incomplete (events stay spooled; `shelflife sinks flush`).
 * @module
 */
import { Command, CommanderError } from 'commander';
import { renderError, ShelflifeError, UsageError } from '../errors.js';
import { displayLines, displayText } from '../report/text.js';
import { VERSION } from '../version.js';
import { EXIT } from './exit.js';

export { EXIT };

type Register = (program: Command) => void;

/**
 * Commands register themselves: (program) => void. Each module is imported only when its command runs (or for
 * --help), so `shelflife scan` does not load the signing, SIEM or cloud SDK code it does not use: faster start,
 * smaller memory. Add a command here with the names it registers.
 */
const COMMANDS: { names: string[]; load: () => Promise<Register> }[] = [
  { names: ['scan'], load: () => import('./scan-command.js').then((m) => m.registerScan) },
  { names: ['where', 'diff', 'retire', 'report', 'history'], load: () => import('./inventory-commands.js').then((m) => m.registerInventoryCommands) },
  { names: ['schedule'], load: () => import('./schedule-command.js').then((m) => m.registerSchedule) },
  { names: ['explain'], load: () => import('./explain-command.js').then((m) => m.registerExplain) },
  { names: ['keygen'], load: () => import('./keygen-command.js').then((m) => m.registerKeygen) },
  { names: ['resign'], load: () => import('./resign-command.js').then((m) => m.registerResign) },
  { names: ['verify'], load: () => import('./verify-command.js').then((m) => m.registerVerify) },
  { names: ['sinks'], load: () => import('./sinks-command.js').then((m) => m.registerSinks) },
  { names: ['worker'], load: () => import('./worker-command.js').then((m) => m.registerWorker) },
  { names: ['queue'], load: () => import('./worker-command.js').then((m) => m.registerQueue) },
  { names: ['provenance'], load: () => import('./provenance-command.js').then((m) => m.registerProvenance) },
];

/** The registrars a command line needs: the named command's, or all of them (help, unknown commands). */
export async function loadCommands(argv: string[]): Promise<Register[]> {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  const hit = COMMANDS.find((c) => first !== undefined && c.names.includes(first));
  return Promise.all((hit ? [hit] : COMMANDS).map((c) => c.load()));
}

export function createProgram(commands: Register[]): Command {
  const program = new Command('shelflife')
    .description('Find and fix the quantum-vulnerable cryptography on long-lived artifacts')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of commands) register(program);
  return program;
}

/** Run the CLI; resolves to the exit code (the bin sets process.exitCode). */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram(await loadCommands(argv));
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
    process.stderr.write(`shelflife: error: ${displayText(renderError(e))}\n`);
    if (e instanceof ShelflifeError && e.code === 'rules') process.stderr.write('shelflife: hint: fix the rule file at the line named above\n');
    return EXIT.USAGE;
  }
  if (e instanceof ShelflifeError) {
    process.stderr.write(`shelflife: error: ${displayText(renderError(e))}\n`);
    // A failed verification is a verdict about the input (exit 1, like --fail-on); anything else is an operational
    // failure (inventory, network, re-signing, a sink, a file that could not be written), never to be mistaken for one.
    return e.code === 'verify' ? EXIT.FINDINGS : EXIT.OPERATIONAL;
  }
  process.stderr.write(`shelflife: error: internal error: ${displayLines((e as Error)?.stack ?? String(e))}\n`);
  process.stderr.write('shelflife: hint: this is a bug in shelflife; please report it with the command you ran\n');
  return EXIT.INTERNAL;
}
