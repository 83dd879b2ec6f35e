#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a warm one: installs what it
# needs (testbed/scripts/setup.sh, which also installs Node 24 LTS when the machine
# has another line), then runs the unit suite, the integration suites
# on the local control plane, and again in a container where podman works.
set -uo pipefail
cd "$(dirname "$0")/../.."
# Everything below runs on Node 24, the image's runtime (testbed/scripts/node.sh).
source testbed/scripts/node.sh || exit 1
bash testbed/scripts/setup.sh || exit 1
bash testbed/scripts/helm.sh || exit 1   # helm + kustomize (Go module proxy) for the chart tests
bash testbed/scripts/containers.sh       # podman + locally made images, or the reason the container tests skip

results=.cache/results
rm -rf "$results" && mkdir -p "$results"
jest() { node --disable-warning=ExperimentalWarning --experimental-vm-modules node_modules/jest/bin/jest.js "$@"; }
failed=0

echo "== unit"
jest -c test/jest.unit.config.js --json --outputFile="$results/unit.json" || failed=1

echo "== integration (local control plane: kube-apiserver + embedded etcd, AWS fake)"
AWI_BACKEND=local jest -c test/jest.integration.config.js --json --outputFile="$results/integration-local.json" || failed=1

echo "== integration (container backend: the control plane in a local image, through testcontainers on podman)"
if reason=$(node dist/testbed/harness/container-runtime.js); then
  AWI_BACKEND=container jest -c test/jest.integration.config.js --json --outputFile="$results/integration-container.json" test/integration/controller.test.ts || failed=1
else
  echo "SKIPPED the container backend: no container runtime works here ($reason)."
  echo "The same integration suites ran above on the local control plane."
fi

node dist/testbed/harness/summarize.js "$results" || failed=1
exit $failed
