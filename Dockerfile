# syntax=docker/dockerfile:1
# The awi controller image.
#
#   docker build -t awi:0.1.0 .            (or podman build)
#   docker run --rm awi:0.1.0 --help
#
# testbed/scripts/containers.sh builds it with podman on a Node base image it makes
# locally (--build-arg NODE_IMAGE=...) and test/integration/image.test.ts runs
# the controller from it against the test bed. The build reaches no network
# but the npm registry (npm ci).
#
# Stages: build (npm ci, type-check with tsc, then `npm run bundle`: esbuild
# bundles the CLI and the production dependencies it uses into one minified
# ES module, dist/awi.mjs), final (that one file and package.json on the Node
# base: no node_modules, no sources, no dev dependencies). Bundled and
# tree-shaken, the controller loads ~3.7 MB of code instead of every module of
# its dependencies, which is what V8 keeps in memory (docs/memory.md). The
# final image runs as a numeric non-root UID and writes nothing outside /tmp,
# so it works with readOnlyRootFilesystem (deploy/deployment.yaml mounts an
# emptyDir there).
# test/unit/dockerfile.test.ts checks this file against the repository.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Only for npm ci behind a TLS-inspecting proxy: the path of a CA bundle that
# the build mounts (testbed/scripts/containers.sh passes the machine's). Build
# stages only: the final image keeps Node's own CAs.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: esbuild's native binary comes from its platform package
# (@esbuild/linux-x64, an optional dependency), not from an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# tsconfig.json also covers test/ and bench/, which are not in the build
# context: type-check only the sources (no output), then bundle them into
# dist/awi.mjs (package.json "bundle").
RUN printf '{"extends":"./tsconfig.json","include":["src/**/*.ts"]}\n' > tsconfig.image.json \
 && npx tsc -p tsconfig.image.json --noEmit \
 && npm run bundle

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json: the version `awi --version` prints (src/cli/version.ts).
COPY package.json ./
COPY --from=build /src/dist/awi.mjs ./dist/awi.mjs
# Numeric, so that runAsNonRoot can verify it without a passwd lookup.
USER 65532:65532
# Node flags of the controller process (src/cli/node-flags.ts, docs/memory.md):
# a 2 MiB young generation instead of V8's default of up to 32 MiB per
# semi-space, V8's memory-saving mode, and no optimizing JIT tiers: the
# controller keeps little, allocates in bursts and waits on the network, and
# V8's defaults keep the garbage of those bursts and optimized code resident.
# The heap cap that matches the pod's memory limit is the Deployment's
# (NODE_OPTIONS).
ENTRYPOINT ["node", "--max-semi-space-size=2", "--optimize-for-size", "--no-opt", "--no-maglev", "dist/awi.mjs"]
CMD ["controller", "--config", "/etc/awi/config.yaml"]
