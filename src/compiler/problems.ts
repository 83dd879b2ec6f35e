// Problems are collected from several checks: report each once, in the
// order found.

import type { Problem } from './types.js';

export function dedupeProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.field}\u0000${p.rule}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One line per problem: `field: rule: message`. */
export function formatProblem(problem: Problem): string {
  return `${problem.field}: ${problem.rule}: ${problem.message}`;
}
