// Switching a claim between IRSA and Pod Identity without breaking running
// pods. The webhooks set a pod's credential environment once, at creation: a
// pod started under the old mechanism keeps using it until it goes. So the
// old mechanism's trust stays until no running pod of the ServiceAccount uses
// it, or until controller.switchMaxSeconds. The old binding:
// - an association (Pod Identity -> IRSA) is what old pods' agent asks at each
//   refresh: it stays as long as the old trust does;
// - the IRSA annotation (IRSA -> Pod Identity) is read only when a pod is
//   created; running pods do not need it, and keeping it would give new pods
//   IRSA too (the SDKs try the web identity token before container
//   credentials), so it goes once the new mechanism's credentials are verified.
import type { Mechanism } from '../compiler/types.js';
import type { ConditionInput } from './conditions.js';

export const SWITCH_CONDITION = 'MechanismSwitch';

export interface SwitchInput {
  desired: Mechanism;
  /** The other mechanism's binding is still in place. */
  oldBindingPresent: boolean;
  /** The role's live trust still lets the other mechanism in. */
  roleTrustsOld: boolean;
  /** Running pods of the ServiceAccount still using the other mechanism. */
  podsOnOld: string[];
  /** When the switch started (the condition's lastTransitionTime), if known. */
  startedAt?: Date;
  now: Date;
  maxSeconds: number;
  /** The desired mechanism's credentials were verified (or verification is off). */
  newVerified: boolean;
}

export interface SwitchDecision {
  inProgress: boolean;
  from: Mechanism;
  /** Compile the trust with the old mechanism too. */
  keepOldTrust: boolean;
  /** The plan may retire the old binding. */
  mayRetireBinding: boolean;
  timedOut: boolean;
  /** The MechanismSwitch condition while a switch runs. */
  condition?: ConditionInput;
}

export const otherMechanism = (m: Mechanism): Mechanism => (m === 'IRSA' ? 'PodIdentity' : 'IRSA');

export function decideSwitch(s: SwitchInput): SwitchDecision {
  const from = otherMechanism(s.desired);
  const inProgress = s.oldBindingPresent || s.roleTrustsOld;
  if (!inProgress) return { inProgress, from, keepOldTrust: false, mayRetireBinding: true, timedOut: false };
  const started = s.startedAt ?? s.now;
  const deadline = new Date(started.getTime() + s.maxSeconds * 1000);
  const timedOut = s.now.getTime() >= deadline.getTime();
  const waiting = s.podsOnOld.length > 0 && !timedOut;
  const mayRetireBinding = from === 'PodIdentity' ? !waiting : s.newVerified || timedOut;
  // While the old binding exists its trust stays too (nothing may point at a role that refuses it).
  const keepOldTrust = waiting || s.oldBindingPresent;
  const n = s.podsOnOld.length;
  const pods = `${n} running pod${n === 1 ? '' : 's'}`;
  const names = n ? ` (${s.podsOnOld.slice(0, 5).join(', ')}${n > 5 ? ', ...' : ''})` : '';
  const condition: ConditionInput = waiting
    ? { type: SWITCH_CONDITION, status: 'True', reason: 'WaitingForPods', message: `Switching from ${from} to ${s.desired}: ${pods} still use${n === 1 ? 's' : ''} ${from}${names}; the ${from} trust${from === 'PodIdentity' ? ' and association stay' : ' stays'} until they are gone, at the latest until ${deadline.toISOString()} (controller.switchMaxSeconds).` }
    : timedOut && n > 0
      ? { type: SWITCH_CONDITION, status: 'True', reason: 'SwitchTimedOut', message: `Switching from ${from} to ${s.desired}: controller.switchMaxSeconds passed at ${deadline.toISOString()} with ${pods} still on ${from}${names}; retiring ${from} now: restart them to get ${s.desired}.` }
      : { type: SWITCH_CONDITION, status: 'True', reason: 'RetiringOldMechanism', message: `Switching from ${from} to ${s.desired}: no running pod uses ${from} any more; retiring its ${s.oldBindingPresent ? 'binding and ' : ''}trust.` };
  return { inProgress, from, keepOldTrust, mayRetireBinding, timedOut, condition };
}
