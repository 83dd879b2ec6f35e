// Where a command writes. Commands take an Io so tests can run them in-process.

import { readFileSync } from 'node:fs';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Reads standard input (for the "-" file argument); bytes, so that invalid UTF-8 can be reported. */
  stdin(): string | Uint8Array;
}

const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);

export const processIo: Io = {
  out: (text) => process.stdout.write(line(text)),
  err: (text) => process.stderr.write(line(text)),
  stdin: () => readFileSync(0),
};

/** Exit codes shared by the commands: 1 when a claim is refused, 2 when the command cannot run. */
export const EXIT = { ok: 0, invalid: 1, usage: 2 } as const;
