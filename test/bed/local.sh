#!/usr/bin/env bash
# The operator's main job on the embedded local default: installs what it
# needs, then runs test/bed/local.ts (see there). Pass --keep to leave it running.
set -euo pipefail
cd "$(dirname "$0")/../.."
# On Node 24, the image's runtime, whatever node started `npm run local`.
source test/bed/node.sh
bash test/bed/setup.sh
exec node dist/test/bed/local.js "$@"
