// Credentials for other accounts: assumed with STS, cached, refreshed before expiry.
import { describe, expect, it, jest } from '@jest/globals';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { AwsClientFactory } from '../../src/aws/clients.js';

function factoryWithFakeSts(expiresInMs: () => number) {
  const factory = new AwsClientFactory({
    region: 'ap-southeast-1',
    accounts: [{ accountId: '111122223333' }, { accountId: '222233334444', assumeRoleArn: 'arn:aws:iam::222233334444:role/awi-controller', externalId: 'ext-1' }],
  });
  const inputs: unknown[] = [];
  let n = 0;
  jest.spyOn(factory.sts, 'send').mockImplementation((async (cmd: AssumeRoleCommand) => {
    inputs.push(cmd.input);
    n += 1;
    return { Credentials: { AccessKeyId: `AKIA${n}`, SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + expiresInMs()) } };
  }) as never);
  return { factory, inputs };
}

const credentialsOf = async (f: AwsClientFactory, account: string) =>
  (await (f.forAccount(account).iam.config.credentials as () => Promise<{ accessKeyId: string }>)()).accessKeyId;

describe('AwsClientFactory', () => {
  it('assumes the configured role with the external id for another account, and caches the credentials', async () => {
    const { factory, inputs } = factoryWithFakeSts(() => 60 * 60 * 1000);
    expect(await credentialsOf(factory, '222233334444')).toBe('AKIA1');
    expect(await credentialsOf(factory, '222233334444')).toBe('AKIA1');
    expect(inputs).toEqual([{ RoleArn: 'arn:aws:iam::222233334444:role/awi-controller', RoleSessionName: 'awi-controller', ExternalId: 'ext-1' }]);
  });

  it('refreshes the credentials once they are within five minutes of expiry', async () => {
    const start = Date.now();
    let now = start;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const { factory, inputs } = factoryWithFakeSts(() => 60 * 60 * 1000);
      expect(await credentialsOf(factory, '222233334444')).toBe('AKIA1');
      now = start + 50 * 60 * 1000; // 10 minutes left: still good
      expect(await credentialsOf(factory, '222233334444')).toBe('AKIA1');
      now = start + 56 * 60 * 1000; // 4 minutes left: refresh
      expect(await credentialsOf(factory, '222233334444')).toBe('AKIA2');
      expect(inputs).toHaveLength(2);
    } finally {
      clock.mockRestore();
    }
  });

  it('uses its own credentials for the cluster account and refuses an account the config does not list', async () => {
    const { factory, inputs } = factoryWithFakeSts(() => 60 * 60 * 1000);
    factory.forAccount('111122223333');
    expect(inputs).toEqual([]);
    expect(() => factory.forAccount('999999999999')).toThrow(/not in the platform config's accounts list/);
  });
});
