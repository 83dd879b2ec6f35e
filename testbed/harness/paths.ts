// Where the test bed keeps its builds and run state: ignored folders inside
// the project, so a clean clone builds once and repeat runs reuse the cache.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// Works both from testbed/harness (ts-jest) and dist/testbed/harness (compiled).
export const projectRoot = here.includes(`${path.sep}dist${path.sep}`)
  ? path.resolve(here, '..', '..', '..')
  : path.resolve(here, '..', '..');
export const cacheDir = path.join(projectRoot, '.cache');
export const controlPlaneBinary = path.join(cacheDir, 'bin', 'awi-controlplane');
export const motoServerBinary = path.join(cacheDir, 'venv', 'bin', 'moto_server');
export const runRoot = path.join(cacheDir, 'run');
