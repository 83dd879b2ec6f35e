#!/usr/bin/env bash
# The operator's main job on the embedded local default: installs what it
# needs, then runs `awi dev` (src/cli/dev.ts -> testbed/local.ts), which
# starts the test bed and runs `awi controller` on it. Pass --keep to leave
# it running.
set -euo pipefail
cd "$(dirname "$0")/../.."
# On Node 24, the image's runtime, whatever node started `npm run local`.
source testbed/scripts/node.sh
bash testbed/scripts/setup.sh
exec node dist/src/cli/main.js dev "$@"
