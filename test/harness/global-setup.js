// jest globalSetup: starts the test bed from the compiled harness (see testbed-start.ts).
import { existsSync } from 'node:fs';
const compiled = new URL('../../dist/testbed/harness/testbed-start.js', import.meta.url);

export default async function globalSetup() {
  if (!existsSync(compiled)) throw new Error('dist/ is missing: run `npm run build` (npm test and npm run jest do it)');
  const { startTestBed } = await import(compiled.href);
  await startTestBed();
}
