// Builds the AWS SDK clients the controller uses, per account. The cluster's
// own account uses the controller's credentials; other accounts go through a
// role assumed with STS (from the platform config's accounts list).
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { AccountConfig } from '../config/types.js';
import type { CallBudget } from './budget.js';

export interface AwsClients {
  iam: IAMClient;
  eks: EKSClient;
}

export interface AwsClientFactoryOptions {
  /** Region of the EKS cluster (IAM is global, EKS is regional). */
  region: string;
  accounts: AccountConfig[];
  maxAttempts?: number;
  /**
   * Shared call budget: every call of every client goes through it, and it owns
   * retries (the SDK clients then make one attempt per call).
   */
  budget?: CallBudget;
  /** Added to every client's middleware stack (metrics). */
  middleware?: { middleware: (next: any, context: any) => any; options: { step: 'initialize'; name: string } };
}

// Refresh assumed credentials this long before they expire.
const refreshMarginMs = 5 * 60 * 1000;

export class AwsClientFactory {
  readonly sts: STSClient;
  private readonly cache = new Map<string, AwsClients>();

  constructor(private readonly opts: AwsClientFactoryOptions) {
    this.sts = new STSClient({ region: opts.region, maxAttempts: this.sdkAttempts() });
    // STS calls are made with the controller's own credentials, in its own account.
    this.instrument(this.sts, opts.accounts.find((a) => !a.assumeRoleArn)?.accountId ?? 'controller', 'sts');
  }

  private sdkAttempts(): number {
    return this.opts.budget ? 1 : (this.opts.maxAttempts ?? 5);
  }

  private instrument(client: IAMClient | EKSClient | STSClient, accountId: string, service: string): void {
    // The three clients' stacks differ only in their input and output types.
    const stack = client.middlewareStack as IAMClient['middlewareStack'];
    if (this.opts.middleware) stack.add(this.opts.middleware.middleware, this.opts.middleware.options);
    if (this.opts.budget) {
      const { middleware, options } = this.opts.budget.middleware(accountId, service);
      stack.add(middleware as never, options);
    }
  }

  /** Clients for an account; throws if the config does not list it. */
  forAccount(accountId: string): AwsClients {
    const cached = this.cache.get(accountId);
    if (cached) return cached;
    const account = this.opts.accounts.find((a) => a.accountId === accountId);
    if (!account) throw new Error(`account ${accountId} is not in the platform config's accounts list`);
    const credentials = account.assumeRoleArn ? this.assumedCredentials(account) : undefined;
    const common = { region: this.opts.region, maxAttempts: this.sdkAttempts(), ...(credentials ? { credentials } : {}) };
    const clients: AwsClients = { iam: new IAMClient(common), eks: new EKSClient(common) };
    this.instrument(clients.iam, accountId, 'iam');
    this.instrument(clients.eks, accountId, 'eks');
    this.cache.set(accountId, clients);
    return clients;
  }

  private assumedCredentials(account: AccountConfig): () => Promise<AwsCredentialIdentity> {
    let current: AwsCredentialIdentity | undefined;
    return async () => {
      if (current?.expiration && current.expiration.getTime() - Date.now() > refreshMarginMs) return current;
      const out = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: account.assumeRoleArn,
          RoleSessionName: 'awi-controller',
          ...(account.externalId ? { ExternalId: account.externalId } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${account.assumeRoleArn} returned no credentials`);
      current = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
      return current;
    };
  }
}
