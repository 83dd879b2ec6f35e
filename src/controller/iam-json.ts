// IAM returns policy documents URL-encoded (GetRole, GetRolePolicy); the SDK
// does not decode them.
import type { PolicyDocument } from '../compiler/types.js';

export function parseIamPolicy(raw: string): PolicyDocument {
  const text = raw.trimStart().startsWith('{') ? raw : decodeURIComponent(raw);
  return JSON.parse(text) as PolicyDocument;
}
