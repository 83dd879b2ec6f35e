// What the reconciler asks beyond "did awi write the claimed state": are the
// prerequisites there, do pods get the claimed role (verified with a real
// token exchange), and is a mechanism switch still waiting for pods. Holds the
// per-claim memory these need (last verification, last write, switches in
// progress); the decisions themselves are pure (prerequisites.ts, verify.ts,
// switch.ts).
import type { Logger } from 'pino';
import type { DesiredState, Mechanism } from '../compiler/types.js';
import type { ControllerConfig } from '../config/types.js';
import type { ConditionInput } from './conditions.js';
import { ownedByClaim, ROLE_ARN_ANNOTATION } from '../ownership.js';
import { previousBindingPresent, type Observed, type Step } from './plan.js';
import { podsUsing, type PodLister } from './pods.js';
import { trustedMechanisms, type PrerequisiteChecker, type PrerequisiteProblem } from './prerequisites.js';
import { decideSwitch, SWITCH_CONDITION, type SwitchDecision, type SwitchInput } from './switch.js';
import { CREDENTIALS_VERIFIED, mayMintFor, verificationCondition, type CredentialVerifier } from './verify.js';

export interface ClaimChecksOptions {
  controller: Pick<ControllerConfig, 'verification' | 'switchMaxSeconds'>;
  prerequisites?: PrerequisiteChecker;
  verifier?: CredentialVerifier;
  pods?: PodLister;
  /** After an awi write, a refused exchange reads as IAM propagation for this long (until the first success). */
  propagationGraceMs?: number;
  now: () => Date;
  /** Spreads re-verification after a restart (seedFromStatus); default Math.random. */
  random?: () => number;
}

/** The CredentialsVerified condition a claim's status recorded, with `${mechanism}|${roleArn}|${observedGeneration}` of that status. */
export interface RecordedVerdict {
  fingerprint: string;
  condition: ConditionInput;
}

export interface SwitchState extends SwitchDecision {
  podsOnOld: string[];
  input: SwitchInput;
}

/** The same switch, decided again once the new mechanism's credentials were (or were not) verified. */
export function withVerification(s: SwitchState, newVerified: boolean): SwitchState {
  const input = { ...s.input, newVerified };
  return { ...decideSwitch(input), podsOnOld: s.podsOnOld, input };
}

/** Steps that retire the old mechanism's binding after a switch. */
export const isRetireStep = (s: Step): boolean =>
  s.kind === 'DeleteAssociation' || (s.kind === 'PatchServiceAccount' && s.resource === 'Binding' && s.annotations[ROLE_ARN_ANNOTATION] === null);

export class ClaimChecks {
  private readonly verified = new Map<string, { fingerprint: string; at: number; condition: ConditionInput }>();
  private readonly lastWrite = new Map<string, number>();
  /** Claims with a mechanism switch in progress: pod changes of their ServiceAccount wake them. */
  readonly switching = new Set<string>();

  constructor(private readonly o: ClaimChecksOptions) {}

  get verificationEnabled(): boolean {
    return this.o.controller.verification.enabled && !!this.o.verifier;
  }

  get verificationIntervalMs(): number {
    return this.o.controller.verification.intervalSeconds * 1000;
  }

  /**
   * Is a switch running, and how many running pods still use the old
   * mechanism? `startedAt` is when the switch condition turned True.
   */
  async mechanismSwitch(key: string, desired: DesiredState, observed: Observed, startedAt: Date | undefined, newVerified: boolean): Promise<SwitchState> {
    const old: Mechanism = desired.mechanism === 'IRSA' ? 'PodIdentity' : 'IRSA';
    const role = observed.role && ownedByClaim(observed.role.tags, desired) ? observed.role : undefined;
    const oldBindingPresent = previousBindingPresent(desired, observed);
    const roleTrustsOld = !!role && trustedMechanisms(role.trustPolicy).includes(old);
    let podsOnOld: string[] = [];
    if ((oldBindingPresent || roleTrustsOld) && this.o.pods) {
      podsOnOld = podsUsing(await this.o.pods.forServiceAccount(desired.serviceAccount.namespace, desired.serviceAccount.name), old);
    }
    const input: SwitchInput = {
      desired: desired.mechanism, oldBindingPresent, roleTrustsOld, podsOnOld, now: this.o.now(), maxSeconds: this.o.controller.switchMaxSeconds, newVerified,
      ...(startedAt ? { startedAt } : {}),
    };
    const d = decideSwitch(input);
    if (d.inProgress) this.switching.add(key);
    else this.switching.delete(key);
    return { ...d, podsOnOld, input };
  }

  prerequisite(desired: DesiredState): Promise<PrerequisiteProblem | undefined> {
    return this.o.prerequisites ? this.o.prerequisites.check(desired.role.trustPolicy) : Promise.resolve(undefined);
  }

  /**
   * The CredentialsVerified condition. Exchanges a token when due: never
   * verified for this state, the interval passed, the last one failed, or the
   * plan found something to change (the world moved). Undefined when off.
   */
  async credentials(key: string, desired: DesiredState, observed: Observed, planHasSteps: boolean, log: Logger, recorded?: RecordedVerdict): Promise<ConditionInput | undefined> {
    if (!this.verificationEnabled) return undefined;
    const sa = observed.serviceAccount;
    const role = observed.role;
    if (!sa || !mayMintFor(sa) || !role || !ownedByClaim(role.tags, desired)) {
      this.verified.delete(key);
      return { type: CREDENTIALS_VERIFIED, status: 'Unknown', reason: 'NotVerified', message: 'Not verified yet: the role and the ServiceAccount are being created.' };
    }
    const fingerprint = `${desired.mechanism}|${desired.role.arn}|${desired.claim.generation ?? ''}`;
    const now = this.o.now().getTime();
    const last = this.verified.get(key) ?? this.seedFromStatus(key, fingerprint, recorded, now);
    const due = !last || last.fingerprint !== fingerprint || now - last.at >= this.verificationIntervalMs || last.condition.status !== 'True' || planHasSteps;
    if (!due) return last.condition;
    const irsaRoleArn = sa.annotations[ROLE_ARN_ANNOTATION];
    const result = await this.o.verifier!.exchange(sa, desired.mechanism, irsaRoleArn);
    const wroteAt = this.lastWrite.get(key);
    const condition = verificationCondition(result, {
      mechanism: desired.mechanism,
      serviceAccount: `${sa.namespace}/${sa.name}`,
      roleArn: desired.role.arn,
      propagationGraceMs: this.o.propagationGraceMs ?? 60_000,
      ...(wroteAt !== undefined ? { sinceLastWriteMs: now - wroteAt } : {}),
    });
    // Once verified after a write, a later refusal is a real failure, not propagation.
    if (condition.status === 'True') this.lastWrite.delete(key);
    // A real refusal may be a prerequisite gone behind awi's back: look again next time.
    else if (condition.reason === 'VerificationFailed') this.o.prerequisites?.invalidate();
    log.debug({ verified: condition.status, reason: condition.reason }, 'credentials verification');
    this.verified.set(key, { fingerprint, at: now, condition });
    return condition;
  }

  /**
   * After a restart: a verdict the claim's status recorded as True for this
   * mechanism, role and generation counts as made at a random moment of the
   * last interval, so a new process re-verifies its claims spread over one
   * interval instead of all in its first pass.
   */
  private seedFromStatus(key: string, fingerprint: string, recorded: RecordedVerdict | undefined, now: number) {
    if (!recorded || recorded.fingerprint !== fingerprint || recorded.condition.status !== 'True') return undefined;
    const seeded = { fingerprint, at: now - Math.floor((this.o.random ?? Math.random)() * this.verificationIntervalMs), condition: recorded.condition };
    this.verified.set(key, seeded);
    return seeded;
  }

  /** awi changed something the claim's credentials depend on. */
  wrote(key: string): void {
    this.lastWrite.set(key, this.o.now().getTime());
  }

  forget(key: string): void {
    this.verified.delete(key);
    this.lastWrite.delete(key);
    this.switching.delete(key);
  }
}

/**
 * Ready with the checks folded in. Order of causes: a blocker, a missing
 * prerequisite, a resource not yet in place, then the verification.
 */
export function foldChecks(
  base: ConditionInput[],
  c: { blocked: boolean; prerequisite?: PrerequisiteProblem; credentials?: ConditionInput; mechanismSwitch?: ConditionInput },
): ConditionInput[] {
  const [ready, ...rest] = base;
  let summary = ready!;
  if (!c.blocked) {
    if (c.prerequisite) summary = { type: 'Ready', status: 'False', reason: c.prerequisite.reason, message: c.prerequisite.message };
    else if (summary.status === 'True' && c.credentials && c.credentials.status !== 'True') {
      summary = { type: 'Ready', status: 'False', reason: c.credentials.reason, message: c.credentials.message };
    }
  }
  return [summary, ...rest, ...(c.credentials ? [c.credentials] : []), ...(c.mechanismSwitch ? [c.mechanismSwitch] : [])];
}

export { SWITCH_CONDITION };
