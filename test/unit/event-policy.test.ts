import { describe, expect, it } from '@jest/globals';
import { mergeConditions, type ConditionInput } from '../../src/controller/conditions.js';
import { appliedEvent, statusEvents } from '../../src/controller/event-policy.js';
import { eventName, EventSeriesCache } from '../../src/kube/events.js';

const at = (inputs: ConditionInput[], previous?: ReturnType<typeof mergeConditions>) => mergeConditions(previous, inputs, 1, '2026-01-01T00:00:00.000Z');
const ready = (status: 'True' | 'False', reason: string, message = `${reason} message`): ConditionInput => ({ type: 'Ready', status, reason, message });
const piece = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message = `${type} ${reason}`): ConditionInput => ({ type, status, reason, message });

describe('statusEvents: which status writes deserve an Event', () => {
  it('a claim that converges gets one Normal Event, when Ready turns True; none while IAM propagates', () => {
    const propagating = at([ready('False', 'IAMPropagating'), piece('PolicyReady', 'False', 'IAMPropagating'), piece('RoleReady', 'False', 'IAMPropagating'), piece('ServiceAccountReady', 'True', 'Reconciled')]);
    expect(statusEvents(undefined, propagating)).toEqual([]);
    const notVerified = at([ready('False', 'NotVerified'), piece('CredentialsVerified', 'Unknown', 'NotVerified')], propagating);
    expect(statusEvents(propagating, notVerified)).toEqual([]);
    const done = at([ready('True', 'Reconciled', 'Pods get the role.'), piece('RoleReady', 'True', 'Reconciled')], notVerified);
    expect(statusEvents(notVerified, done)).toEqual([{ type: 'Normal', reason: 'Reconciled', action: 'Reconcile', note: 'Pods get the role.' }]);
    // The periodic drift check that finds nothing to do says nothing.
    expect(statusEvents(done, at([ready('True', 'Reconciled', 'Pods get the role.')], done))).toEqual([]);
  });

  it('a Ready claim whose binding changed (new Ready message) gets a new Normal Event', () => {
    const before = at([ready('True', 'Reconciled', 'through IRSA')]);
    expect(statusEvents(before, at([ready('True', 'Reconciled', 'through PodIdentity')], before))).toHaveLength(1);
  });

  it('a failure is a Warning on every write, even unchanged (the recorder folds repeats into one series)', () => {
    const blocked = at([ready('False', 'RoleNotOwned', 'Role x is not ours.'), piece('RoleReady', 'False', 'RoleNotOwned', 'Role x is not ours.'), piece('PolicyReady', 'Unknown', 'Blocked')]);
    const first = statusEvents(undefined, blocked);
    expect(first).toEqual([{ type: 'Warning', reason: 'RoleNotOwned', action: 'Reconcile', note: 'RoleReady=False: Role x is not ours.' }]);
    expect(statusEvents(blocked, at([ready('False', 'RoleNotOwned', 'Role x is not ours.'), piece('RoleReady', 'False', 'RoleNotOwned', 'Role x is not ours.')], blocked))).toEqual(first);
  });

  it('the Warning names the condition that carries the cause: CredentialsVerified for a refused exchange, Ready when none does', () => {
    const refused = at([ready('False', 'VerificationFailed', 'AccessDenied'), piece('RoleReady', 'True', 'Reconciled'), piece('CredentialsVerified', 'False', 'VerificationFailed', 'AccessDenied: not trusted')]);
    expect(statusEvents(undefined, refused)[0]).toMatchObject({ type: 'Warning', reason: 'VerificationFailed', note: 'CredentialsVerified=False: AccessDenied: not trusted' });
    const throttled = at([ready('False', 'Throttled', 'Rate exceeded. Retrying with backoff.'), piece('RoleReady', 'True', 'Reconciled')]);
    expect(statusEvents(undefined, throttled)).toEqual([{ type: 'Warning', reason: 'Throttled', action: 'Reconcile', note: 'Ready=False: Rate exceeded. Retrying with backoff.' }]);
  });

  it('a refused spec is a Warning naming the refusal', () => {
    const refused = at([ready('False', 'GuardrailViolation', 'spec.aws.accountId: not allowed'), piece('PolicyReady', 'False', 'GuardrailViolation', 'spec.aws.accountId: not allowed')]);
    expect(statusEvents(undefined, refused)).toEqual([{ type: 'Warning', reason: 'GuardrailViolation', action: 'Reconcile', note: 'PolicyReady=False: spec.aws.accountId: not allowed' }]);
  });

  it('a refused exchange is a Warning even while Ready waits for IAM (awi is restoring the trust)', () => {
    const restoring = at([ready('False', 'IAMPropagating'), piece('RoleReady', 'False', 'IAMPropagating'), piece('CredentialsVerified', 'False', 'VerificationFailed', 'AccessDenied')]);
    expect(statusEvents(undefined, restoring)).toEqual([{ type: 'Warning', reason: 'VerificationFailed', action: 'Reconcile', note: 'CredentialsVerified=False: AccessDenied' }]);
  });

  it('two causes are two Warnings, each once', () => {
    const both = at([
      ready('False', 'ServiceAccountNotOwned'), piece('ServiceAccountReady', 'False', 'ServiceAccountNotOwned', 'not ours'),
      piece('BindingReady', 'False', 'AssociationConflict', 'foreign association'), piece('RoleReady', 'Unknown', 'Blocked'),
    ]);
    expect(statusEvents(undefined, both).map((e) => e.note)).toEqual(['ServiceAccountReady=False: not ours', 'BindingReady=False: foreign association']);
  });

  it('Unknown conditions and waits say nothing', () => {
    expect(statusEvents(undefined, at([piece('RoleReady', 'Unknown', 'Blocked'), piece('CredentialsVerified', 'Unknown', 'VerificationUnavailable')]))).toEqual([]);
  });
});

describe('appliedEvent: what a reconcile did', () => {
  const step = (kind: string, description = kind) => ({ kind, description });

  it('nothing applied: no Event', () => {
    expect(appliedEvent([], false)).toBeUndefined();
    expect(appliedEvent([], true)).toBeUndefined();
  });

  it('a reconcile that creates something is Created, listing the steps', () => {
    expect(appliedEvent([step('CreateServiceAccount'), step('CreateRole'), step('PutInlinePolicy')], false)).toEqual({
      type: 'Normal', reason: 'Created', action: 'Create', note: 'Applied: CreateServiceAccount; CreateRole; PutInlinePolicy.',
    });
    expect(appliedEvent([step('CreateAssociation')], false)).toMatchObject({ reason: 'Created' });
  });

  it('a spec change applied is Updated; the same steps with an unchanged spec are DriftCorrected (Warning)', () => {
    expect(appliedEvent([step('PutInlinePolicy')], false)).toMatchObject({ type: 'Normal', reason: 'Updated', action: 'Update' });
    expect(appliedEvent([step('UpdateTrustPolicy'), step('TagRole', 'TagRole owner')], true)).toEqual({
      type: 'Warning', reason: 'DriftCorrected', action: 'Correct', note: 'Restored the claimed state: UpdateTrustPolicy; TagRole owner.',
    });
  });
});

describe('eventName', () => {
  it('is the claim name, a dot, the time in hex and 4 random hex digits: a valid DNS subdomain within 253 characters', () => {
    expect(eventName('app', new Date(0x18f00000000), () => 0.5)).toBe('app.18f000000008000');
    const long = eventName('a'.repeat(253), new Date(), () => 0);
    expect(long.length).toBe(253);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
  });
});

describe('EventSeriesCache: repeats within the window are one Event series', () => {
  it('the second occurrence bumps the first Event to count 2, the third to 3', () => {
    const cache = new EventSeriesCache(60_000);
    expect(cache.next('k', 0)).toBeUndefined();
    cache.observed('k', 'app.1', 1, 0);
    expect(cache.next('k', 10_000)).toEqual({ name: 'app.1', count: 2 });
    cache.observed('k', 'app.1', 2, 10_000);
    expect(cache.next('k', 20_000)).toEqual({ name: 'app.1', count: 3 });
  });

  it('the window runs from the last occurrence: a repeat after a longer silence starts a new Event', () => {
    const cache = new EventSeriesCache(60_000);
    cache.observed('k', 'app.1', 1, 0);
    cache.observed('k', 'app.1', 2, 50_000);
    expect(cache.next('k', 110_000)).toEqual({ name: 'app.1', count: 3 });
    expect(cache.next('k', 110_001)).toBeUndefined();
  });

  it('different keys are different series', () => {
    const cache = new EventSeriesCache(60_000);
    cache.observed('a', 'app.1', 1, 0);
    expect(cache.next('b', 1)).toBeUndefined();
  });

  it('forgets series older than the window, and the oldest beyond its size bound', () => {
    const cache = new EventSeriesCache(60_000, 2);
    cache.observed('old', 'x.1', 1, 0);
    cache.observed('new', 'x.2', 1, 70_000);
    expect(cache.size).toBe(1);
    cache.observed('a', 'x.3', 1, 70_001);
    cache.observed('b', 'x.4', 1, 70_002);
    expect(cache.size).toBe(2);
    expect(cache.next('new', 70_003)).toBeUndefined();
    expect(cache.next('b', 70_003)).toEqual({ name: 'x.4', count: 2 });
  });
});
