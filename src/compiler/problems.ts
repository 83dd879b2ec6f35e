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

export interface ProblemListLimits {
  /** At most this many problems are listed (default 10). */
  maxProblems?: number;
  /** The whole text stays within this many characters (default 4,096; a status condition message should stay far below the 32 KiB a condition may carry). */
  maxChars?: number;
}

/**
 * Problems as one message for a status condition: the first problems, one per
 * line ("field: rule: message"), then "and N more" for the rest. The full
 * list belongs in the log and in one Event. Pure; never longer than maxChars.
 */
export function summarizeProblems(problems: readonly Problem[], limits: ProblemListLimits = {}): string {
  const maxProblems = Math.max(1, limits.maxProblems ?? 10);
  const maxChars = Math.max(100, limits.maxChars ?? 4096);
  const lineMax = maxChars - 32; // one line and "and N more" always fit
  const head = problems.slice(0, maxProblems).map((p) => {
    const line = formatProblem(p);
    return line.length > lineMax ? `${line.slice(0, lineMax - 1)}…` : line;
  });
  const text = (n: number) => {
    const omitted = problems.length - n;
    return [...head.slice(0, n), ...(omitted > 0 ? [`and ${omitted} more`] : [])].join('\n');
  };
  let n = head.length;
  while (n > 1 && text(n).length > maxChars) n--;
  return text(n);
}
