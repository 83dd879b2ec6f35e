import { describe, expect, it } from '@jest/globals';
import { changedConditions, eventTypeFor, kubeErrorMessage, mergeConditions, sentence } from '../../src/controller/conditions.js';

describe('conditions', () => {
  const t0 = '2026-01-01T00:00:00.000Z';
  const t1 = '2026-01-01T00:05:00.000Z';
  const first = mergeConditions(undefined, [{ type: 'Ready', status: 'False', reason: 'IAMPropagating', message: 'waiting' }], 1, t0);

  it('stamps observedGeneration and a transition time on new conditions', () => {
    expect(first).toEqual([{ type: 'Ready', status: 'False', observedGeneration: 1, lastTransitionTime: t0, reason: 'IAMPropagating', message: 'waiting' }]);
  });

  it('keeps lastTransitionTime while the status stays, even if reason or message change', () => {
    const next = mergeConditions(first, [{ type: 'Ready', status: 'False', reason: 'Throttled', message: 'slow down' }], 2, t1);
    expect(next[0]).toMatchObject({ lastTransitionTime: t0, reason: 'Throttled', observedGeneration: 2 });
    expect(changedConditions(first, next)).toHaveLength(1);
  });

  it('moves lastTransitionTime when the status flips', () => {
    const next = mergeConditions(first, [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'ok' }], 1, t1);
    expect(next[0]?.lastTransitionTime).toBe(t1);
  });

  it('reports no change for an identical recomputation', () => {
    const again = mergeConditions(first, [{ type: 'Ready', status: 'False', reason: 'IAMPropagating', message: 'waiting' }], 1, t1);
    expect(changedConditions(first, again)).toEqual([]);
  });

  it('a False or Unknown condition is Warning news; only True is Normal', () => {
    expect(eventTypeFor({ status: 'True' })).toBe('Normal');
    expect(eventTypeFor({ status: 'False' })).toBe('Warning');
    expect(eventTypeFor({ status: 'Unknown' })).toBe('Warning');
  });

  it('ends a message with a full stop so that appended sentences do not run together', () => {
    expect(`${sentence('Rate exceeded')} Retrying with backoff.`).toBe('Rate exceeded. Retrying with backoff.');
    expect(sentence('Rate exceeded.')).toBe('Rate exceeded.');
    expect(sentence('Is it? ')).toBe('Is it?');
  });

  it('reduces a Kubernetes API error to the Status message, without the client dump of body and headers', () => {
    const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'serviceaccounts "x" is forbidden: User "u" cannot patch resource', reason: 'Forbidden', code: 403 };
    // What @kubernetes/client-node throws: a message with status line, body and headers; the body as string or object.
    const err = (body: unknown) => Object.assign(new Error(`HTTP-Code: 403\nMessage: Unknown API Status Code!\nBody: ${JSON.stringify(body)}\nHeaders: {"audit-id":"1"}`), { code: 403, body });
    expect(kubeErrorMessage(err(JSON.stringify(status)), 403)).toBe('The Kubernetes API answered 403: serviceaccounts "x" is forbidden: User "u" cannot patch resource.');
    expect(kubeErrorMessage(err(status), 403)).toBe('The Kubernetes API answered 403: serviceaccounts "x" is forbidden: User "u" cannot patch resource.');
    expect(kubeErrorMessage(err('<html>bad gateway</html>'), 502)).toBe('The Kubernetes API answered 502.');
    expect(kubeErrorMessage(err({ reason: 'TooManyRequests' }), 429)).toBe('The Kubernetes API answered 429 (TooManyRequests).');
    expect(kubeErrorMessage(err(JSON.stringify(status)), 403)).not.toContain('Headers');
  });
});
