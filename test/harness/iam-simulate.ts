// A second opinion on the project's own IAM evaluator (iam-policy-match.ts):
// the same authorization request, evaluated by @cloud-copilot/iam-simulate,
// an IAM policy simulator written elsewhere that also knows, from AWS's
// Service Authorization Reference, which condition keys each action and
// resource type has. Identity policy only, same account (the controller's
// role acting in its own account): no SCPs, no resource policy.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { AuthzRequest, Decision, PolicyDocument } from './iam-policy-match.js';

export interface SimulatedDecision {
  decision: Decision['decision'];
  /**
   * Context keys the simulator dropped because AWS does not document them for
   * this action or resource type. A request that relies on one of them is
   * modelled wrongly.
   */
  ignoredContextKeys: string[];
}

const RESULT: Record<string, Decision['decision']> = { Allowed: 'Allow', ExplicitlyDenied: 'ExplicitDeny', ImplicitlyDenied: 'ImplicitDeny' };

/** The principal making every request: the controller's role in `accountId`, the account of the resources it acts on. */
const principalOf = (accountId: string) => `arn:aws:iam::${accountId}:role/awi-controller`;

export async function simulate(policy: PolicyDocument, req: AuthzRequest, accountId: string): Promise<SimulatedDecision> {
  const out = await runSimulation(
    {
      request: { principal: principalOf(accountId), action: req.action, resource: { resource: req.resource, accountId }, contextVariables: req.context },
      identityPolicies: [{ name: 'controller', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    { simulationMode: 'Strict' },
  );
  if (out.resultType === 'error') throw new Error(`iam-simulate refused ${req.action} on ${req.resource}: ${JSON.stringify(out.errors)}`);
  if (out.resultType !== 'single') throw new Error(`iam-simulate: expected one resource for ${req.resource}, got a ${out.resultType} result`);
  const decision = RESULT[out.overallResult];
  if (!decision) throw new Error(`iam-simulate: unknown result ${out.overallResult}`);
  return { decision, ignoredContextKeys: out.result.ignoredContextKeys ?? [] };
}
