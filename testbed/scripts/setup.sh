#!/usr/bin/env bash
# Installs and builds everything the test bed and the local run need, into
# ignored folders of the project (node_modules/, .cache/). Idempotent: a repeat
# run checks stamps and rebuilds nothing that is current.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cache=$root/.cache
moto_version=5.2.5
k8s_version=v1.34.4

say() { printf 'setup: %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' not found: $2" >&2; exit 1; }; }
need npm "install Node.js with npm (any version: the scripts install the Node they run on)"
need go "install Go 1.24 or newer"
need python3 "install Python 3.11 or newer with the venv module"
# 0. Node 24 LTS (what the image ships), from the npm registry when the
#    machine's node is another line; first on PATH from here on.
source testbed/scripts/node.sh || exit 1
say "Node $(node --version) ($(command -v node))"
mkdir -p "$cache/bin"

# 1. npm packages, reinstalled only when the lock file changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. The local control plane (kube-apiserver + embedded etcd), rebuilt only
#    when its sources or the Go toolchain changed. Module and build caches live
#    in .cache/go so a clean clone's first build is the only slow one.
export GOMODCACHE=$cache/go/mod GOCACHE=$cache/go/build GOFLAGS=-modcacherw GOTOOLCHAIN=local
cp_src=testbed/controlplane
stamp=$( (go version; cat "$cp_src"/go.mod "$cp_src"/go.sum "$cp_src"/*.go) | sha256sum | cut -c1-16)
if [ ! -x "$cache/bin/awi-controlplane" ] || [ "$(cat "$cache/bin/awi-controlplane.stamp" 2>/dev/null)" != "$stamp" ]; then
  say "building kube-apiserver $k8s_version with embedded etcd (first build takes several minutes)"
  start=$(date +%s)
  ( cd "$cp_src" && go build -trimpath -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$k8s_version \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=34 \
      -X k8s.io/component-base/version.gitTreeState=clean" \
      -o "$cache/bin/awi-controlplane.new" . )
  mv "$cache/bin/awi-controlplane.new" "$cache/bin/awi-controlplane"
  echo "$stamp" > "$cache/bin/awi-controlplane.stamp"
  say "control plane built in $(( $(date +%s) - start ))s"
fi

# 3. moto (IAM and STS behind the AWS fake) in its own virtualenv.
if ! "$cache/venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$moto_version')" 2>/dev/null; then
  say "installing moto[server]==$moto_version into .cache/venv"
  rm -rf "$cache/venv"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version"
fi

# 4. TypeScript: type-check everything and emit dist/ (the CLI and local run use it),
# then bundle the CLI into dist/awi.mjs, the file the image runs (`awi dev` and
# the benches run it too).
say "compiling TypeScript"
rm -rf dist
npx tsc -p tsconfig.json
npm run --silent bundle
say "ready"
