// Deterministic role names from the platform's template. IAM allows 64
// characters; a longer name is cut and suffixed with a hash of the full name,
// so it stays stable across compilations and distinct for distinct claims.

import { shortHash } from './canonical.js';

export const ROLE_NAME_MAX = 64;
const HASH_CHARS = 10;

export interface RoleNameVariables {
  cluster: string;
  namespace: string;
  serviceAccount: string;
  claim: string;
  account: string;
}

export function renderTemplate(template: string, vars: RoleNameVariables): string {
  return template.replace(/\{(cluster|namespace|serviceAccount|claim|account)\}/g, (_, key: keyof RoleNameVariables) => vars[key]);
}

export function shortenRoleName(full: string, max = ROLE_NAME_MAX): string {
  if (full.length <= max) return full;
  const head = full.slice(0, max - HASH_CHARS - 1).replace(/[-_.@=,+]+$/, '');
  return `${head}-${shortHash(full, HASH_CHARS)}`;
}

export function roleName(template: string, vars: RoleNameVariables): string {
  return shortenRoleName(renderTemplate(template, vars));
}
