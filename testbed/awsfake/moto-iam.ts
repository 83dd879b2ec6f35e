// The fake's own reads of IAM state and its credential minting, straight
// against moto (not through the fake, so they are neither counted nor faulted).
// Credentials come from moto's sts:AssumeRole, so moto recognises them later
// (GetCallerIdentity with them answers the assumed-role ARN).
import { GetOpenIDConnectProviderCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { MalformedPolicyError, parsePolicyDocument, type TrustPolicy } from './trust-evaluation.js';

export interface RoleInfo {
  arn: string;
  roleId: string;
  roleName: string;
  accountId: string;
  /** undefined when the stored document does not parse. */
  trustPolicy?: TrustPolicy;
  maxSessionDuration: number;
}

export interface MintedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface OidcProviderInfo {
  arn: string;
  url: string;
  clientIds: string[];
}

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]+)$/;

export function parseRoleArn(arn: string): { partition: string; accountId: string; roleName: string } | undefined {
  const m = ROLE_ARN.exec(arn);
  return m ? { partition: m[1]!, accountId: m[2]!, roleName: m[3]! } : undefined;
}

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** The IAM reads and the credential minting the STS and EKS Auth handlers need (MotoIam; an in-memory one in unit tests). */
export interface IamBackend {
  getRole(roleArn: string): Promise<RoleInfo | undefined>;
  oidcProvider(accountId: string, hostPath: string, partition?: string): Promise<OidcProviderInfo | undefined>;
  mintCredentials(roleArn: string, sessionName: string, durationSeconds: number, sessionPolicy?: string): Promise<MintedCredentials>;
}

export class MotoIam implements IamBackend {
  private iam = new Map<string, Promise<IAMClient>>();
  private sts = new Map<string, Promise<STSClient>>();
  private accountCreds = new Map<string, Promise<Creds>>();

  constructor(
    private readonly motoUrl: string,
    private readonly defaultAccount: string,
    private readonly region: string,
  ) {}

  /** The role named by `roleArn` (path included), or undefined. */
  async getRole(roleArn: string): Promise<RoleInfo | undefined> {
    const parsed = parseRoleArn(roleArn);
    if (!parsed) return undefined;
    const iam = await this.iamFor(parsed.accountId);
    let role;
    try {
      role = (await iam.send(new GetRoleCommand({ RoleName: parsed.roleName }))).Role;
    } catch (err) {
      if ((err as Error).name === 'NoSuchEntityException' || (err as Error).name === 'NoSuchEntity') return undefined;
      throw err;
    }
    if (!role?.Arn || role.Arn !== roleArn) return undefined;
    let trustPolicy: TrustPolicy | undefined;
    try {
      trustPolicy = role.AssumeRolePolicyDocument ? parsePolicyDocument(role.AssumeRolePolicyDocument) : undefined;
    } catch (err) {
      if (!(err instanceof MalformedPolicyError)) throw err;
    }
    return {
      arn: role.Arn,
      roleId: role.RoleId ?? 'AROAUNKNOWN',
      roleName: role.RoleName ?? parsed.roleName,
      accountId: parsed.accountId,
      ...(trustPolicy ? { trustPolicy } : {}),
      maxSessionDuration: role.MaxSessionDuration ?? 3600,
    };
  }

  /** The IAM OIDC provider registered in `accountId` for `hostPath` (issuer without https://). */
  async oidcProvider(accountId: string, hostPath: string, partition = 'aws'): Promise<OidcProviderInfo | undefined> {
    const arn = `arn:${partition}:iam::${accountId}:oidc-provider/${hostPath}`;
    const iam = await this.iamFor(accountId);
    try {
      const p = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
      return { arn, url: p.Url ?? hostPath, clientIds: p.ClientIDList ?? [] };
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'NoSuchEntityException' || name === 'NoSuchEntity' || name === 'InvalidInputException') return undefined;
      throw err;
    }
  }

  /** Credentials for `roleArn` minted by moto (which records, but does not enforce, a session policy). */
  async mintCredentials(roleArn: string, sessionName: string, durationSeconds: number, sessionPolicy?: string): Promise<MintedCredentials> {
    const accountId = parseRoleArn(roleArn)?.accountId ?? this.defaultAccount;
    const sts = await this.stsFor(accountId);
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: durationSeconds, ...(sessionPolicy ? { Policy: sessionPolicy } : {}) }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error('moto returned no credentials');
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration ?? new Date(Date.now() + durationSeconds * 1000),
    };
  }

  /** After a moto reset: credentials minted for other accounts are gone. */
  reset(): void {
    this.accountCreds.clear();
    for (const c of [...this.iam.values(), ...this.sts.values()]) c.then((client) => client.destroy(), () => undefined);
    this.iam.clear();
    this.sts.clear();
  }

  close(): void {
    this.reset();
  }

  private config(credentials: Creds): { endpoint: string; region: string; credentials: Creds; maxAttempts: number } {
    return { endpoint: this.motoUrl, region: this.region, credentials, maxAttempts: 2 };
  }

  /** moto picks the account from the access key: keys it minted for a role ARN belong to that ARN's account. */
  private credsFor(accountId: string): Promise<Creds> {
    if (accountId === this.defaultAccount) return Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' });
    let p = this.accountCreds.get(accountId);
    if (!p) {
      p = (async () => {
        const sts = await this.stsFor(this.defaultAccount);
        const out = await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/awsfake-internal`, RoleSessionName: 'awsfake' }));
        const c = out.Credentials!;
        return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
      })();
      p.catch(() => this.accountCreds.delete(accountId));
      this.accountCreds.set(accountId, p);
    }
    return p;
  }

  private iamFor(accountId: string): Promise<IAMClient> {
    return this.clientFor(this.iam, accountId, (creds) => this.pinDefault(new IAMClient(this.config(creds)), accountId));
  }

  private stsFor(accountId: string): Promise<STSClient> {
    return this.clientFor(this.sts, accountId, (creds) => this.pinDefault(new STSClient(this.config(creds)), accountId));
  }

  /** Plain test keys map to moto's own default account: name ours in a header (see moto.ts). */
  private pinDefault<C extends IAMClient | STSClient>(client: C, accountId: string): C {
    if (accountId !== this.defaultAccount) return client;
    type Args = { request: unknown };
    const stack = client.middlewareStack as unknown as {
      add(mw: (next: (a: Args) => Promise<unknown>) => (a: Args) => Promise<unknown>, o: { step: 'build'; name: string }): void;
    };
    stack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] = accountId;
        return next(args);
      },
      { step: 'build', name: 'motoDefaultAccount' },
    );
    return client;
  }

  private async clientFor<C>(cache: Map<string, Promise<C>>, accountId: string, make: (creds: Creds) => C): Promise<C> {
    let c = cache.get(accountId);
    if (!c) {
      c = this.credsFor(accountId).then(make);
      c.catch(() => cache.delete(accountId));
      cache.set(accountId, c);
    }
    return c;
  }
}
