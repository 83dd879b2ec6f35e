// Error translation for the claim and the platform configuration: every ajv
// error becomes {field, rule, message} with a field path like
// `spec.permissions.s3[0].bucket` and a short, stable rule id. The validators
// themselves are compiled at build time (validators.ts); ajv's compiler is
// not loaded at run time (ajv-compile.ts).

import type { ErrorObject } from 'ajv';
import type { AwiAnnotations } from './schema-node.js';

export interface SchemaIssue {
  field: string;
  rule: string;
  message: string;
}

export interface TranslatedIssue extends SchemaIssue {
  /** The JSON Schema keyword that failed. */
  keyword: string;
}

/** `/spec/permissions/s3/0/bucket` -> `spec.permissions.s3[0].bucket` */
export function pointerToPath(pointer: string, prefix = ''): string {
  let path = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = appendPath(path, segment);
  }
  return path;
}

export function appendPath(path: string, segment: string | number): string {
  if (typeof segment === 'number' || /^\d+$/.test(segment)) return `${path}[${segment}]`;
  if (/^[A-Za-z_$][\w$-]*$/.test(segment)) return path ? `${path}.${segment}` : segment;
  return `${path}[${JSON.stringify(segment)}]`;
}

function kebab(keyword: string): string {
  return keyword.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

export function translateAjvErrors(errors: ErrorObject[] | null | undefined, prefix = ''): TranslatedIssue[] {
  const issues: TranslatedIssue[] = [];
  for (const error of errors ?? []) {
    const push = (issue: SchemaIssue) => issues.push({ ...issue, keyword: error.keyword });
    const field = pointerToPath(error.instancePath, prefix);
    const awi = (error.parentSchema as { 'x-awi'?: AwiAnnotations } | undefined)?.['x-awi'];
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'required':
        push({ field: appendPath(field, String(params.missingProperty)), rule: 'required', message: 'is required' });
        break;
      case 'additionalProperties': {
        const allowed = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
        push({
          field: appendPath(field, String(params.additionalProperty)),
          rule: 'unknown-field',
          message: `unknown field: check the spelling${allowed.length ? `; allowed here: ${allowed.join(', ')}` : ''}`,
        });
        break;
      }
      case 'enum':
        push({
          field,
          rule: awi?.rule ?? 'enum',
          message: `${describe(error.data)} is not a valid ${awi?.what ?? 'value'}; allowed: ${(params.allowedValues as unknown[]).join(', ')}`,
        });
        break;
      case 'pattern':
        push({ field, rule: awi?.rule ?? 'pattern', message: `${describe(error.data)} ${awi?.message ?? `must match ${String(params.pattern)}`}` });
        break;
      case 'minLength':
      case 'maxLength':
        push({
          field,
          rule: awi?.rule ?? kebab(error.keyword),
          message: `must be at ${error.keyword === 'minLength' ? 'least' : 'most'} ${String(params.limit)} characters`,
        });
        break;
      case 'type': {
        const hint = params.type === 'string' && typeof error.data === 'number' ? ' (quote it in YAML)' : '';
        push({ field, rule: 'type', message: `must be a ${String(params.type)}, not ${describe(error.data)}${hint}` });
        break;
      }
      case 'uniqueItems': {
        const data = error.data as unknown[];
        const value = data[Number(params.j)];
        push({ field, rule: 'duplicate', message: `lists ${describe(value)} more than once` });
        break;
      }
      default:
        push({ field, rule: awi?.rule ?? kebab(error.keyword), message: error.message ?? 'is invalid' });
    }
  }
  return dedupe(issues);
}

export function dedupe<T extends SchemaIssue>(issues: T[]): T[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.field}\u0000${issue.rule}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
