/**
 * The inventory as provenance asks it: every location holding a digest (any store, any scan), and the retirement
 * recorded for a digest. One adapter over src/inventory's Inventory, so the CLI, `serve` and tests ask the same way.
 * @module
 */
import type { Inventory } from '../inventory/inventory.js';
import type { InventoryLookup } from './answer.js';

export function inventoryLookup(inv: Inventory): InventoryLookup {
  return {
    locations: async (sha256) => (await inv.where(sha256)).locations.map((l) => l.uri),
    retirement: async (sha256) => (await inv.retirements([sha256])).get(sha256),
    modelLocations: async (root) => (await inv.modelLocations(root)).map((l) => l.uri),
  };
}
