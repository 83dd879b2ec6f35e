// CLI: node dist/testbed/awsfake/main.js <options.json>
// Starts the AWS fake with the options in the file (AwsFakeOptions as JSON),
// prints {"endpoint": ..., ...} as one line on stdout when ready, logs to
// stderr, and stops (moto too) on SIGTERM/SIGINT or when its parent goes away.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { startAwsFake } from './server.js';
import type { AwsFakeOptions } from './types.js';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: awsfake <options.json>\n');
    process.exit(2);
  }
  const opts = JSON.parse(readFileSync(file, 'utf8')) as AwsFakeOptions;
  const logger = pino({ name: 'awsfake', level: process.env.AWSFAKE_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const fake = await startAwsFake({ ...opts, logger });

  let stopping = false;
  const stop = async (why: string, code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'stopping');
    try {
      await fake.close();
    } finally {
      process.exit(code);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Reparented: whoever started us is gone.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop('parent exited');
  }, 1000).unref();

  process.stdout.write(
    JSON.stringify({ endpoint: fake.endpoint, port: fake.port, accountId: fake.accountId, region: fake.region, motoEndpoint: fake.motoEndpoint, pid: process.pid }) + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`awsfake: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
