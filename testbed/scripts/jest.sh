#!/usr/bin/env bash
# Jest on the project's Node (testbed/scripts/node.sh), after compiling dist/:
#   npm run jest -- -c test/jest.unit.config.js test/unit/watch.test.ts
# A type error is printed but does not stop the run (tsc still emits), so one
# broken file does not hide the results of the others.
set -uo pipefail
cd "$(dirname "$0")/../.."
source testbed/scripts/node.sh || exit 1
node node_modules/typescript/bin/tsc -p tsconfig.json
exec node --disable-warning=ExperimentalWarning --experimental-vm-modules node_modules/jest/bin/jest.js "$@"
