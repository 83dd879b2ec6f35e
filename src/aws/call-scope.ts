// Counts the AWS calls made on behalf of one unit of work (a reconcile),
// whatever client or helper makes them: CallBudget.run notes each attempt in
// the caller's async context. A reconcile answered entirely from the shared
// observations makes none, and gives its reconcile rate-limit token back.
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<{ calls: number }>();

/** Runs `fn` and tells how many AWS calls (attempts) it made, including page reads it started for others. */
export async function withAwsCallCount<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const counter = { calls: 0 };
  const result = await scope.run(counter, fn);
  return { result, calls: counter.calls };
}

/** One AWS call attempt in the current scope (none outside one). */
export function noteAwsCall(): void {
  const counter = scope.getStore();
  if (counter) counter.calls++;
}
