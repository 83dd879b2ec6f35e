// awi inventory: what every claim in a cluster owns, and (with --aws) whether
// AWS agrees, plus the roles awi tagged that no claim accounts for.
export { collectInventory, clusterSources, listRolesWithTags, type InventoryOptions, type InventorySources } from './collect.js';
export { formatInventory, type InventoryFormat } from './format.js';
export type { AwsCheck, AwsRole, Inventory, InventoryRow, ObservedBinding, OrphanRole } from './join.js';
