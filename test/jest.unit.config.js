// Pure tests: no servers, run in parallel.
import base from './jest.base.js';
export default { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] };
