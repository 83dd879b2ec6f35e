// Type-check a TypeScript snippet against the project's real sources, in
// memory, for tests that prove something is a compile error ("a Permissions
// key without a compiler does not type-check").
//
// The snippet is a module at the project root: import the sources as
// './src/...js'. It may augment their types (`declare module './src/api/
// types.generated.js' { ... }`), and then the errors that matter are in the
// sources, so `alsoIn` names the project files whose errors to report too.
//
// One compiler host, shared by every call: files read from disk are parsed
// once, and each Program reuses the previous one, so a call costs a check of
// the snippet and of what it reaches, not a parse of the project.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
// Works both from test/harness (ts-jest) and dist/test/harness (compiled).
const projectRoot = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
const SNIPPET_FILE = path.join(projectRoot, '__typecheck_snippet__.ts');

interface Checker {
  options: ts.CompilerOptions;
  host: ts.CompilerHost;
  snippet: string;
  previous?: ts.Program;
}

let checker: Checker | undefined;

function projectOptions(): ts.CompilerOptions {
  const configFile = path.join(projectRoot, 'tsconfig.json');
  const read = ts.readConfigFile(configFile, (f) => ts.sys.readFile(f));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, projectRoot, undefined, configFile);
  // No ambient @types (node, jest): parsing them is most of the cost, and only the snippet and the
  // `alsoIn` files are reported, which must then not need @types/node (no node: imports, no Buffer or process).
  return { ...parsed.options, noEmit: true, types: [], sourceMap: false, incremental: false };
}

function getChecker(): Checker {
  if (checker) return checker;
  const options = projectOptions();
  const host = ts.createCompilerHost(options, true);
  const parsed = new Map<string, ts.SourceFile>();
  const state: Checker = { options, host, snippet: '' };
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (file) => (path.resolve(file) === SNIPPET_FILE ? state.snippet : readFile(file));
  host.fileExists = (file) => path.resolve(file) === SNIPPET_FILE || fileExists(file);
  host.getSourceFile = (file, language, onError, shouldCreate) => {
    if (path.resolve(file) === SNIPPET_FILE) return ts.createSourceFile(file, state.snippet, language, true);
    let source = parsed.get(file);
    if (!source) {
      source = getSourceFile(file, language, onError, shouldCreate);
      if (source) parsed.set(file, source);
    }
    return source;
  };
  checker = state;
  return state;
}

function format(diagnostic: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  const file = diagnostic.file;
  if (!file || diagnostic.start === undefined) return `TS${diagnostic.code}: ${text}`;
  const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start);
  const name = path.resolve(file.fileName) === SNIPPET_FILE ? 'snippet' : path.relative(projectRoot, file.fileName);
  return `${name}(${line + 1},${character + 1}): TS${diagnostic.code}: ${text}`;
}

export interface TypeErrorOptions {
  /** Project files (relative to the root, e.g. 'src/compiler/intents/index.ts') whose errors to report as well. */
  alsoIn?: string[];
}

/**
 * The type errors of a snippet (a module at the project root), as
 * "file(line,col): TS<code>: message" lines, the message chain joined by
 * newlines; the snippet's own file is called "snippet". Empty when it type-checks.
 */
export function typeErrors(snippet: string, options: TypeErrorOptions = {}): string[] {
  const state = getChecker();
  state.snippet = snippet;
  const program = ts.createProgram({ rootNames: [SNIPPET_FILE], options: state.options, host: state.host, ...(state.previous ? { oldProgram: state.previous } : {}) });
  state.previous = program;
  const files = [SNIPPET_FILE, ...(options.alsoIn ?? []).map((f) => path.join(projectRoot, f))];
  const diagnostics: ts.Diagnostic[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`${path.relative(projectRoot, file) || file} is not part of the program: does the snippet import it?`);
    diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
  }
  return diagnostics.map(format);
}
