/**
 * The container table. Compression is not a container: it is undone first (compression.ts), and the result is
 * sniffed again, so `a.tar.gz` yields `a.tar.gz!/member` rather than `a.tar.gz!/a.tar!/member`.
 * @module
 */
import { arHandler } from './ar.js';
import { cabHandler } from './cab.js';
import { cpioHandler } from './cpio.js';
import { rpmHandler } from './rpm.js';
import { tarHandler } from './tar.js';
import type { ContainerHandler } from './types.js';
import { zipHandler } from './zip.js';

export type { ContainerHandler, ContainerInput, Member } from './types.js';
export { ExpansionBudget } from './types.js';

export const CONTAINERS: ContainerHandler[] = [zipHandler, tarHandler, arHandler, rpmHandler, cpioHandler, cabHandler];

export function sniffContainer(head: Uint8Array, name: string): ContainerHandler | undefined {
  return CONTAINERS.find((c) => c.sniff(head, name));
}
