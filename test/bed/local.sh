#!/usr/bin/env bash
# The operator's main job on the embedded local default: installs what it
# needs, then runs test/bed/local.ts (see there). Pass --keep to leave it running.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/bed/setup.sh
# The SDK warns that releases after January 2027 need Node 22 (the image uses
# Node 22); on this Node 20 test bed that notice is noise.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
exec node dist/test/bed/local.js "$@"
