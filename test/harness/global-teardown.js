// jest globalTeardown: stops what global-setup.js started.
export default async function globalTeardown() {
  const { stopTestBed } = await import(new URL('../../dist/testbed/harness/testbed-start.js', import.meta.url).href);
  await stopTestBed();
}
