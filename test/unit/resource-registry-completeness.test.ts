// The resource registry (src/controller/resources/index.ts) is complete by
// construction: a resource kind without a module, a module without its
// condition, diff, execute or cleanup, or an execute table that leaves out one
// of its step kinds, does not compile. The test type-checks snippets against the real sources
// with the TypeScript compiler API, and checks that a complete registry
// passes too (so that it can fail both ways).
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const root = process.cwd();
const SNIPPET = path.join(root, '__resource_registry_snippet__.ts');

let previous: ts.Program | undefined;
const options: ts.CompilerOptions = (() => {
  const configFile = path.join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configFile, (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configFile);
  // No ambient @types: only the snippet's errors are reported, and parsing them is most of the cost.
  return { ...parsed.options, noEmit: true, types: [], sourceMap: false, incremental: false };
})();

// One host for every snippet: the sources are parsed once.
let code = '';
const parsed = new Map<string, ts.SourceFile | undefined>();
const host = ts.createCompilerHost(options, true);
const { readFile, fileExists, getSourceFile } = host;
host.readFile = (f) => (path.resolve(f) === SNIPPET ? code : readFile.call(host, f));
host.fileExists = (f) => path.resolve(f) === SNIPPET || fileExists.call(host, f);
host.getSourceFile = (f, lang, ...rest) => {
  if (path.resolve(f) === SNIPPET) return ts.createSourceFile(f, code, lang, true);
  if (!parsed.has(f)) parsed.set(f, getSourceFile.call(host, f, lang, ...rest));
  return parsed.get(f);
};

/** The snippet's type errors, as "snippet(line,col): TSnnnn: message". */
function snippetErrors(snippet: string): string[] {
  code = snippet;
  const program = ts.createProgram({ rootNames: [SNIPPET], options, host, ...(previous ? { oldProgram: previous } : {}) });
  previous = program;
  const file = program.getSourceFile(SNIPPET)!;
  return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => {
    const { line, character } = file.getLineAndCharacterOfPosition(d.start ?? 0);
    return `snippet(${line + 1},${character + 1}): TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

const IMPORTS = `
  import { RESOURCES, type ResourceRegistry } from './src/controller/resources/index.js';
  import { roleResource, type RoleStep } from './src/controller/resources/role.js';
  import type { ResourceModule } from './src/controller/resources/types.js';
`;

describe('the resource registry is complete by construction', () => {
  it('the registry as shipped type-checks, and so does a copy of it', () => {
    expect(snippetErrors(`${IMPORTS}
      export const copy = { ...RESOURCES } satisfies ResourceRegistry;
      export const role: ResourceModule<'Role', RoleStep, 'RoleReady'> = { ...roleResource };`)).toEqual([]);
  }, 60_000);

  it('a resource without a condition does not type-check', () => {
    const errors = snippetErrors(`${IMPORTS}
      const { condition: _left, ...noCondition } = roleResource;
      export const registry = { ...RESOURCES, Role: noCondition } satisfies ResourceRegistry;`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^snippet\(\d+,\d+\): TS\d+: /);
    expect(errors[0]).toContain("Property 'condition' is missing");
  }, 60_000);

  it('a resource without a diff does not type-check', () => {
    const errors = snippetErrors(`${IMPORTS}
      const { diff: _left, ...noDiff } = roleResource;
      export const registry = { ...RESOURCES, Role: noDiff } satisfies ResourceRegistry;`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("Property 'diff' is missing");
  }, 60_000);

  it('a resource kind without a module does not type-check', () => {
    const errors = snippetErrors(`${IMPORTS}
      const { Binding: _left, ...noBinding } = RESOURCES;
      export const registry = noBinding satisfies ResourceRegistry;`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("Property 'Binding' is missing");
  }, 60_000);

  it('a condition that is not a ...Ready type does not type-check', () => {
    const errors = snippetErrors(`${IMPORTS}
      export const registry = { ...RESOURCES, Role: { ...roleResource, condition: 'RoleOk' } } satisfies ResourceRegistry;`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('RoleOk');
  }, 60_000);

  it('a resource without execute, or without cleanup, does not type-check', () => {
    const errors = snippetErrors(`${IMPORTS}
      const { execute: _x, ...noExecute } = roleResource;
      const { cleanup: _c, ...noCleanup } = roleResource;
      export const a = { ...RESOURCES, Role: noExecute } satisfies ResourceRegistry;
      export const b = { ...RESOURCES, Role: noCleanup } satisfies ResourceRegistry;`);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain("Property 'execute' is missing");
    expect(errors[1]).toContain("Property 'cleanup' is missing");
  }, 60_000);

  it("an execute table that leaves out one of the resource's step kinds does not type-check", () => {
    const errors = snippetErrors(`${IMPORTS}
      const { SetPermissionsBoundary: _left, ...partial } = roleResource.execute;
      export const role: ResourceModule<'Role', RoleStep, 'RoleReady'> = { ...roleResource, execute: partial };`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("Property 'SetPermissionsBoundary' is missing");
  }, 60_000);

  it('an order (plan, deletion, conditions) that leaves out a kind does not type-check', () => {
    const errors = snippetErrors(`
      import { everyKind } from './src/controller/resources/index.js';
      export const complete = everyKind(['Binding', 'Policy', 'Role', 'ServiceAccount']);
      export const incomplete = everyKind(['Binding', 'Role', 'ServiceAccount']);`);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^snippet\(4,\d+\): /);
    expect(errors[0]).toContain("Property 'missing' is missing");
    expect(errors[0]).toContain('"Policy"');
  }, 60_000);
});
