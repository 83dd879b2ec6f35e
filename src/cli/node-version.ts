// Imported first by main.ts, so it runs before any dependency is evaluated:
// @kubernetes/client-node 2.x (undici 8) needs Node 22.19+, and awi is built
// and tested on Node 24, the image's runtime. On an older Node the CLI would
// otherwise die inside a dependency with a TypeError that names neither.
const REQUIRED_MAJOR = 24;

const major = Number(process.versions.node.split('.')[0]);
if (major < REQUIRED_MAJOR) {
  process.stderr.write(
    `awi: Node.js ${REQUIRED_MAJOR} or newer is required, this is v${process.versions.node}` +
    ' (in a checkout of awi, `npm run awi -- <args>` runs the CLI on the Node 24 the scripts install)\n',
  );
  process.exit(2);
}
