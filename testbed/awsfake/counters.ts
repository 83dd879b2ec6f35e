// Per-API call counters and a bounded log of calls, for tests and benchmarks.
// A call is counted when it arrives (faulted ones included) and logged when
// answered.
import type { CallLogEntry } from './types.js';

export class CallRecorder {
  private counts = new Map<string, number>();
  private entries: CallLogEntry[] = [];
  private seq = 0;

  constructor(private readonly maxLog = 20_000) {}

  count(api: string): void {
    this.counts.set(api, (this.counts.get(api) ?? 0) + 1);
  }

  record(entry: Omit<CallLogEntry, 'seq'>): CallLogEntry {
    const e: CallLogEntry = { seq: ++this.seq, ...entry };
    this.entries.push(e);
    if (this.entries.length > this.maxLog) this.entries.splice(0, this.entries.length - this.maxLog);
    return e;
  }

  /** `{"iam:CreateRole": 3, ...}`, keys sorted. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  log(filter: { api?: string; sinceSeq?: number } = {}): CallLogEntry[] {
    return this.entries.filter((e) => (filter.api === undefined || e.api === filter.api) && (filter.sinceSeq === undefined || e.seq > filter.sinceSeq));
  }

  reset(): void {
    this.counts.clear();
    this.entries = [];
  }
}
