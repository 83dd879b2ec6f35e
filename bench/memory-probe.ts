// Preloaded into the controller by bench/memory.ts (`node --import <this>`):
// on SIGUSR2 it appends one line of process.memoryUsage() to the file named
// by AWI_MEMORY_PROBE_FILE; on SIGURG the same after a full GC (when the
// process runs with --expose-gc), i.e. what is live. /proc gives RSS from
// outside; heap, external and array buffers are only visible from inside.
// It allocates nothing until signalled.
import { appendFileSync } from 'node:fs';

const file = process.env.AWI_MEMORY_PROBE_FILE;
if (file) {
  const sample = (afterGc: boolean): void => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (afterGc && gc) {
      gc();
      gc();
    }
    appendFileSync(file, JSON.stringify({ afterGc: afterGc && !!gc, ...process.memoryUsage() }) + '\n');
  };
  process.on('SIGUSR2', () => sample(false));
  process.on('SIGURG', () => sample(true));
}
