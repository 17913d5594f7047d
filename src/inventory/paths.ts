/** Where the inventory lives by default (a light module: the CLI needs it for help text without loading SQL code). */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultInventoryPath(): string {
  if (process.env.SHELFLIFE_DB) return process.env.SHELFLIFE_DB;
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'shelflife', 'inventory.db');
}
