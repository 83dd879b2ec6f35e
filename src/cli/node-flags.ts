// The file the image runs, relative to the project root (WORKDIR /app in the
// image): the CLI bundled into one minified ES module by `npm run bundle`
// (esbuild, tree-shaken). Bundled, the controller needs no node_modules at run
// time and V8 keeps far less source and fewer modules (docs/memory.md). The
// Dockerfile's ENTRYPOINT, `awi dev` and the benches run this file.
export const CONTROLLER_ENTRY = 'dist/awi.mjs';

// Node flags for the long-running `awi controller` process. The image's
// ENTRYPOINT (Dockerfile) and `awi dev`'s controller child pass them; the
// Deployment adds the heap cap that matches its memory limit (NODE_OPTIONS in
// deploy/deployment.yaml). test/unit/dockerfile.test.ts keeps the Dockerfile
// in step with this list; docs/memory.md has the measurements behind it.
//
// --max-semi-space-size=2 (MiB): V8 sizes the young generation for
// throughput, up to 32 MiB per semi-space on a 64-bit machine, and every page
// of it that was ever used stays resident. The controller allocates in short
// bursts (a reconcile's HTTP bodies and parsed JSON) and keeps little, so a
// small young generation costs a few more scavenges and saves tens of MiB.
//
// --optimize-for-size: V8 grows the old generation less between full GCs and
// compiles less eagerly; 15-25 MiB less at 1,000 claims for about a quarter
// more CPU per reconcile (still a fraction of a core at the default rate).
//
// --no-opt --no-maglev: no optimizing JIT tiers (TurboFan, Maglev); code runs
// in the interpreter and the baseline compiler. Optimized code and its
// deoptimization data cost ~20 MiB at 1,000 claims for ~10 % less CPU per
// reconcile: the controller waits on the network, not on JavaScript.
// WebAssembly stays (Node's fetch parses HTTP with it): --lite-mode and
// --jitless save about as much but remove WebAssembly, and the controller's
// own fetch (EKS Auth) fails with them.
export const CONTROLLER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--optimize-for-size', '--no-opt', '--no-maglev'];
