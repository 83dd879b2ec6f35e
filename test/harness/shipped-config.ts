// The shipped deploy/platform-config.yaml pointed at the test bed: its
// cluster name and issuer (and account and region, should the bed's differ
// from the shipped ones), as testPlatformConfigDocument does for the
// examples' config, and nothing else changed: no open guardrail for it-*.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { SHIPPED_ENV, type HostileEnv } from '../fixtures/hostile.js';
import { projectRoot } from '../../testbed/harness/paths.js';
import { testbed } from '../../testbed/harness/testbed.js';

export function shippedConfigDocument(): Record<string, any> {
  const tb = testbed();
  const text = readFileSync(path.join(projectRoot, 'deploy', 'platform-config.yaml'), 'utf8')
    .replaceAll(SHIPPED_ENV.accountId, tb.accountId)
    .replaceAll(SHIPPED_ENV.region, tb.region);
  const raw = YAML.parse(text) as Record<string, any>;
  raw.cluster = { ...raw.cluster, name: tb.clusterName, accountId: tb.accountId, region: tb.region, oidcIssuer: tb.issuer };
  return raw;
}

/** The hostile corpus's environment on the test bed. */
export function bedHostileEnv(): HostileEnv {
  const tb = testbed();
  return { accountId: tb.accountId, region: tb.region, clusterName: tb.clusterName, foreignAccountId: SHIPPED_ENV.foreignAccountId };
}
