// What the global setup tells every test file about the running test bed.
export interface TestBedInfo {
  backend: 'local' | 'container';
  kubeconfig: string;
  server: string;
  /** The service-account token issuer (iss of TokenRequest JWTs). */
  issuer: string;
  /** The EKS cluster name the AWS fake serves for this control plane. */
  clusterName: string;
  accountId: string;
  region: string;
  /** AWS_ENDPOINT_URL for the SDK clients; the fake's admin API lives under /_fake/. */
  awsEndpoint: string;
  runDir: string;
}

export const testBedEnv = 'AWI_TESTBED';
export const testClusterName = 'awi-test';
export const testAccountId = '111122223333';
export const testRegion = 'ap-southeast-1';
