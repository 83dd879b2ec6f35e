// Where the reconciler gets its managers: one factory, injected, so that the
// reconciler can be tested with in-memory fakes (test/unit/reconciler.test.ts)
// and production builds the AWS and Kubernetes ones (awsManagerFactory).
import type { AwsClientFactory } from '../../aws/clients.js';
import { AssociationManager } from './association.js';
import { PermissionPolicyManager } from './permission-policy.js';
import { RoleManager } from './role.js';
import type { ServiceAccountManager } from './service-account.js';

/** The public methods of a manager class: what a fake must provide. */
type Api<T> = { [K in keyof T]: T[K] };
export type RoleApi = Api<RoleManager>;
export type PolicyApi = Api<PermissionPolicyManager>;
export type AssociationApi = Api<AssociationManager>;
export type ServiceAccountApi = Api<ServiceAccountManager>;

/** IAM in one account. */
export interface AccountManagers {
  role: RoleApi;
  policy: PolicyApi;
}

export interface ManagerFactory {
  /** IAM in an account the platform config lists (where the claim's role lives). */
  forAccount(accountId: string): AccountManagers;
  /** The cluster's account: its Pod Identity associations, and IAM there (cross-account source roles). */
  cluster(): AccountManagers & { association: AssociationApi };
  readonly serviceAccounts: ServiceAccountApi;
}

/** The production managers: AWS SDK clients per account (AwsClientFactory) and the Kubernetes API. */
export function awsManagerFactory(aws: AwsClientFactory, clusterAccountId: string, serviceAccounts: ServiceAccountManager): ManagerFactory {
  const forAccount = (accountId: string): AccountManagers => {
    const { iam } = aws.forAccount(accountId);
    return { role: new RoleManager(iam), policy: new PermissionPolicyManager(iam) };
  };
  return {
    forAccount,
    cluster: () => ({ ...forAccount(clusterAccountId), association: new AssociationManager(aws.forAccount(clusterAccountId).eks) }),
    serviceAccounts,
  };
}
