#!/usr/bin/env bash
# Copies the kustomize base's manifests (deploy/*.yaml, the CRD from crds/)
# into the chart's files/, which the chart's templates read and give their
# values: the base stays the one source of both installs. Helm reads only
# files inside the chart, and symlinks out of it make every helm command warn,
# hence copies; test/unit/helm.test.ts fails when one differs from its source.
# Run after changing any of them:  bash deploy/chart/sync.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
files=deploy/chart/awi/files
mkdir -p "$files"
cp crds/awi.dev_awsworkloadidentityclaims.yaml "$files/crd.yaml"
for f in serviceaccount rbac deployment pdb service admission-policy platform-config; do
  cp "deploy/$f.yaml" "$files/$f.yaml"
done
echo "sync: deploy/chart/awi/files/ matches deploy/ and crds/"
