// awi inventory: what every claim in a cluster owns, and (with --aws) an
// audit of it against AWS, plus the roles awi tagged and the bindings that no
// claim accounts for.
export { collectInventory, clusterSources, listRolesWithTags, readRolePolicies, type InventoryOptions, type InventorySources } from './collect.js';
export { formatInventory, type InventoryFormat } from './format.js';
export type {
  AwsCheck, AwsRole, BindingFinding, ClaimObservation, Expected, Inventory, InventoryRow, LiveAssociation, LiveServiceAccount, ObservedBinding, OidcProviderState, OrphanRole, RolePolicies,
} from './join.js';
