// Comparing IAM documents by meaning.

import { describe, expect, it } from '@jest/globals';
import { canonicalPolicy, policiesEqual, policyDigest, policySize } from '../../src/compiler/index.js';
import type { PolicyDocument } from '../../src/compiler/types.js';

const doc: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'One', Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: 'arn:aws:s3:::b/*' },
    {
      Sid: 'Two',
      Effect: 'Allow',
      Principal: { AWS: '111122223333' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': 'x' }, Bool: { 'aws:SecureTransport': true as unknown as string } },
    },
  ],
};

// The same meaning, as IAM might return it: reordered, "x" for ["x"], URL-encoded, account expanded, other Sids.
const returned = encodeURIComponent(
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Condition: { Bool: { 'aws:SecureTransport': 'true' }, StringEquals: { 'sts:ExternalId': ['x'] } },
        Action: ['sts:AssumeRole'],
        Principal: { AWS: ['arn:aws:iam::111122223333:root'] },
      },
      { Sid: 'Renamed', Resource: ['arn:aws:s3:::b/*'], Action: ['s3:ListBucket', 's3:GetObject', 's3:GetObject'], Effect: 'Allow' },
    ],
  }),
);

describe('canonical policies', () => {
  it('equal by meaning: order, single values, URL encoding, account principals, Sids', () => {
    expect(policiesEqual(doc, returned)).toBe(true);
    expect(policyDigest(doc)).toBe(policyDigest(returned));
    expect(policyDigest(doc)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('different when the meaning differs', () => {
    const changed = structuredClone(doc);
    changed.Statement[0]!.Resource = 'arn:aws:s3:::other/*';
    expect(policiesEqual(doc, changed)).toBe(false);
    const widened = structuredClone(doc);
    widened.Statement[1]!.Condition = undefined;
    expect(policiesEqual(doc, widened)).toBe(false);
    expect(policyDigest(doc)).not.toBe(policyDigest(widened));
  });

  it('accepts a single statement object and plain JSON text', () => {
    const single = { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' } };
    expect(policiesEqual(single, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['*'] }] }))).toBe(true);
    expect(policiesEqual({ Statement: [] }, { Version: '2008-10-17', Statement: [] })).toBe(true);
  });

  it('the canonical form sorts and de-duplicates statements and drops Sids', () => {
    const canonical = canonicalPolicy({ Version: '2012-10-17', Statement: [...doc.Statement, doc.Statement[0]!] });
    expect(canonical.Statement).toHaveLength(2);
    expect(canonical.Statement.every((s) => !('Sid' in s))).toBe(true);
    expect(canonicalPolicy(canonical)).toEqual(canonical);
  });

  it('measures size as IAM does: whitespace excluded', () => {
    const spaced: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['a:b'], Resource: ['arn:x y'] }] };
    expect(policySize(spaced)).toBe(JSON.stringify(spaced).length - 1);
  });
});
