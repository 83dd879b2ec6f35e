type Stoppable = { stop(): Promise<void> };

export default async function globalTeardown(): Promise<void> {
  const started = (globalThis as { __awiTestBed?: Stoppable[] }).__awiTestBed ?? [];
  // Stop in reverse order: the fake reads the control plane's JWKS.
  for (const s of started.reverse()) await s.stop();
}
