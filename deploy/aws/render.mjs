#!/usr/bin/env node
// Renders one of the policy templates in this folder: every ${NAME} is
// replaced by the environment variable NAME. Fails on an unset variable, so
// no placeholder can reach IAM (where ${...} would be read as a policy
// variable). No dependencies beyond Node.js.
//
//   ACCOUNT_ID=111122223333 REGION=eu-west-1 CLUSTER_NAME=prod-a \
//   CLUSTER_ARN=arn:aws:eks:eu-west-1:111122223333:cluster/prod-a \
//   BOUNDARY_POLICY_ARN=arn:aws:iam::111122223333:policy/awi-workload-boundary \
//   ACCOUNT_ROLE_ARNS="arn:aws:iam::444455556666:role/awi-controller-access" \
//   node deploy/aws/render.mjs deploy/aws/controller-policy.json > controller-policy.rendered.json
//
// PARTITION defaults to "aws". ACCOUNT_ROLE_ARNS is a space-separated list
// (the accounts[].assumeRoleArn values of the platform config); a Resource
// element "${ACCOUNT_ROLE_ARNS}" expands to one element per ARN, and a
// statement whose Resource list ends up empty is dropped (single account: no
// sts:AssumeRole at all). CLUSTER_ARN (the platform config's cluster.arn,
// the value of every awi.dev/cluster ownership tag) must be an EKS cluster
// ARN that agrees with PARTITION, REGION and CLUSTER_NAME; its account may
// differ from ACCOUNT_ID (a target account's policy names the cluster's).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const LIST_VARIABLES = new Set(['ACCOUNT_ROLE_ARNS']);

const CLUSTER_ARN = /^arn:(aws[a-z-]*):eks:([a-z0-9-]+):(\d{12}):cluster\/([A-Za-z0-9][A-Za-z0-9_-]*)$/;

/** The ownership tag carries the cluster ARN; a wrong one would lock the controller out of its own roles, or worse. */
function checkClusterArn(vars) {
  const arn = vars.CLUSTER_ARN;
  const m = CLUSTER_ARN.exec(arn);
  if (!m) throw new Error(`CLUSTER_ARN must be an EKS cluster ARN, arn:<partition>:eks:<region>:<account>:cluster/<name> (cluster.arn of the platform config); got ${JSON.stringify(arn)}`);
  const [, partition, region, , name] = m;
  const disagree = [['PARTITION', partition], ['REGION', region], ['CLUSTER_NAME', name]]
    .filter(([key, value]) => vars[key] !== undefined && vars[key] !== '' && vars[key] !== value)
    .map(([key, value]) => `${key}=${vars[key]} but CLUSTER_ARN says ${value}`);
  if (disagree.length) throw new Error(`CLUSTER_ARN does not match: ${disagree.join('; ')}`);
}

export function render(template, env) {
  const vars = { PARTITION: 'aws', ...env };
  const used = new Set();
  const missing = new Set();
  const substitute = (text) =>
    text.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_, name) => {
      if (LIST_VARIABLES.has(name)) throw new Error(`\${${name}} must be a whole Resource element`);
      used.add(name);
      const value = vars[name];
      if (value === undefined || value === '') missing.add(name);
      return value ?? '';
    });
  const walk = (node) => {
    if (typeof node === 'string') return substitute(node);
    if (Array.isArray(node)) {
      return node.flatMap((item) => {
        const list = typeof item === 'string' ? /^\$\{([A-Z][A-Z0-9_]*)\}$/.exec(item)?.[1] : undefined;
        if (list && LIST_VARIABLES.has(list)) return (vars[list] ?? '').split(/\s+/).filter(Boolean).map(substitute);
        return [walk(item)];
      });
    }
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [substitute(k), walk(v)]));
    return node;
  };
  const doc = walk(JSON.parse(template));
  if (missing.size) throw new Error(`set ${[...missing].sort().join(', ')}`);
  if (used.has('CLUSTER_ARN')) checkClusterArn(vars);
  if (Array.isArray(doc.Statement)) {
    doc.Statement = doc.Statement.filter((s) => !(Array.isArray(s.Resource) && s.Resource.length === 0));
  }
  return doc;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node deploy/aws/render.mjs <template.json>   (variables from the environment)');
    process.exit(2);
  }
  try {
    process.stdout.write(`${JSON.stringify(render(readFileSync(file, 'utf8'), process.env), null, 2)}\n`);
  } catch (err) {
    console.error(`${file}: ${err.message}`);
    process.exit(1);
  }
}
