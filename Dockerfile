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
# Stages: build (npm ci + tsc), deps (production node_modules only), final
# (the compiled code and production dependencies on the Node base; no
# sources, no dev dependencies). The final image runs as a numeric non-root
# UID and writes nothing outside /tmp, so it works with readOnlyRootFilesystem
# (deploy/deployment.yaml mounts an emptyDir there).
# test/unit/dockerfile.test.ts checks this file against the repository.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Only for npm ci behind a TLS-inspecting proxy: the path of a CA bundle that
# the build mounts (testbed/scripts/containers.sh passes the machine's). Build
# stages only: the final image keeps Node's own CAs.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# tsconfig.json also covers test/ and bench/, which are not in the build
# context; compile only the sources. The output path is unchanged:
# src/cli/main.ts -> dist/src/cli/main.js.
RUN printf '{"extends":"./tsconfig.json","include":["src/**/*.ts"],"compilerOptions":{"sourceMap":false}}\n' > tsconfig.image.json \
 && npx tsc -p tsconfig.image.json

FROM ${NODE_IMAGE} AS deps
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json carries "type": "module": the compiled files are ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# Numeric, so that runAsNonRoot can verify it without a passwd lookup.
USER 65532:65532
# Node flags of the controller process (src/cli/node-flags.ts, docs/memory.md):
# a 2 MiB young generation instead of V8's default of up to 32 MiB per
# semi-space, and V8's memory-saving mode: the controller keeps little and
# allocates in bursts, and V8's defaults keep the garbage of those bursts
# resident (1,000 claims: 362 MiB peak with the defaults, under 200 with
# these). The heap cap that matches the pod's memory limit is the
# Deployment's (NODE_OPTIONS).
ENTRYPOINT ["node", "--max-semi-space-size=2", "--optimize-for-size", "dist/src/cli/main.js"]
CMD ["controller", "--config", "/etc/awi/config.yaml"]
