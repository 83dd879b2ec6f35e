#!/usr/bin/env bash
# helm and kustomize for the chart tests (test/unit/helm.test.ts), built from
# the Go module proxy at pinned versions into .cache/bin, once: a stamp
# (versions + Go toolchain) says when a rebuild is due. Module and build caches
# are the control plane's (.cache/go), so they share the Kubernetes modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=$PWD/.cache
helm_version=v3.19.5
# The Kubernetes minor helm assumes when no cluster is asked (helm's own
# Makefile sets it from its client-go; v3.19 uses 1.34).
helm_k8s_minor=34
kustomize_version=v5.7.1
export GOMODCACHE=$cache/go/mod GOCACHE=$cache/go/build GOFLAGS=-modcacherw GOTOOLCHAIN=local
mkdir -p "$cache/bin"

build() { # name stamp package ldflags
  local name=$1 stamp=$2 pkg=$3 ldflags=$4 tmp
  if [ -x "$cache/bin/$name" ] && [ "$(cat "$cache/bin/$name.stamp" 2>/dev/null)" = "$stamp" ]; then return 0; fi
  printf 'helm.sh: building %s (go install %s)\n' "$name" "$pkg"
  start=$(date +%s)
  tmp=$(mktemp -d "$cache/bin/.$name.XXXXXX")
  GOBIN=$tmp go install -trimpath -ldflags "-s -w $ldflags" "$pkg"
  mv "$tmp/$name" "$cache/bin/$name" && rmdir "$tmp"
  echo "$stamp" > "$cache/bin/$name.stamp"
  printf 'helm.sh: %s built in %ss\n' "$name" "$(( $(date +%s) - start ))"
}

go_version=$(go env GOVERSION)
build helm "$helm_version $helm_k8s_minor $go_version" "helm.sh/helm/v3/cmd/helm@$helm_version" "\
 -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean\
 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$helm_k8s_minor\
 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$helm_k8s_minor"
build kustomize "$kustomize_version $go_version" "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version" \
  "-X sigs.k8s.io/kustomize/api/provenance.version=$kustomize_version"
