#!/usr/bin/env bash
# The operator's main job on the embedded local default: installs what it
# needs, then runs `awi dev` (src/cli/dev.ts -> test/bed/local.ts), which
# starts the test bed and runs `awi controller` on it. Pass --keep to leave
# it running.
set -euo pipefail
cd "$(dirname "$0")/../.."
# On Node 24, the image's runtime, whatever node started `npm run local`.
source test/bed/node.sh
bash test/bed/setup.sh
exec node dist/src/cli/main.js dev "$@"
