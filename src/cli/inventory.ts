// awi inventory --config <file> [-n namespace] [-o table|json|csv] [--aws] [--kubeconfig file]
// Every claim in the cluster (or one namespace) with its ServiceAccount,
// mechanism, role, owner, environment and readiness. --aws audits each claim
// against AWS by content: ownership tags, permission policies and trust by
// canonical digest, every association field (or the IRSA annotation), the
// IRSA OIDC provider, and the controller's last credential verification; it
// lists the roles under the awi path tagged for this cluster that no claim
// accounts for, and the bindings (annotated ServiceAccounts, associations)
// made outside awi or left without their claim. Reads only.

import type { KubeConfig } from '@kubernetes/client-node';
import { Option, type Command } from 'commander';
import type { AwsClientFactory } from '../aws/clients.js';
import { awsErrorMessage } from '../aws/errors.js';
import type { PlatformConfig } from '../config/types.js';
import type { InventoryFormat } from '../inventory/index.js';
import { configOption, loadConfigOrReport } from './config-option.js';
import { EXIT, processIo, type Io } from './io.js';

export interface InventoryArgs {
  /** A platform config file, or the configuration itself (tests). */
  config: string | PlatformConfig;
  namespace?: string;
  output?: InventoryFormat;
  aws?: boolean;
  kubeconfig?: string;
}

export interface InventoryDeps {
  kubeConfig?: KubeConfig;
  aws?: AwsClientFactory;
}

export async function runInventory(args: InventoryArgs, io: Io = processIo, deps: InventoryDeps = {}): Promise<number> {
  const config = typeof args.config === 'string' ? loadConfigOrReport(args.config, io) : args.config;
  if (!config) return EXIT.usage;
  // Loaded here, not at the top: the offline commands must not pay for the Kubernetes and AWS clients.
  const [{ loadKubeConfig }, { clusterSources, collectInventory, formatInventory }] = await Promise.all([
    import('../kube/kubeconfig.js'),
    import('../inventory/index.js'),
  ]);
  const kc = deps.kubeConfig ?? loadKubeConfig(args.kubeconfig);
  try {
    const inventory = await collectInventory(
      { config, aws: !!args.aws, ...(args.namespace ? { namespace: args.namespace } : {}) },
      clusterSources(config, kc, ...(deps.aws ? [deps.aws] : [])),
    );
    for (const line of formatInventory(inventory, args.output ?? 'table')) io.out(line);
    return EXIT.ok;
  } catch (err) {
    const body = (err as { body?: unknown }).body;
    io.err(`awi inventory: ${awsErrorMessage(err)}${typeof body === 'string' && body ? ` (${body.slice(0, 300)})` : ''}`);
    return EXIT.usage;
  }
}

export function registerInventory(program: Command, io: Io = processIo): void {
  program
    .command('inventory')
    .description('list every claim with its role, owner and readiness; --aws audits them against AWS and finds orphaned roles and bindings outside awi')
    .addOption(configOption())
    .option('-n, --namespace <namespace>', 'only this namespace (default: all namespaces)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .option('--aws', 'audit each claim against AWS (tags, policy and trust digests, association fields or annotation, OIDC provider, last verification) and list orphaned roles and bindings outside awi')
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)'))
    .action(async (options: { config: string; namespace?: string; output: InventoryFormat; aws?: boolean; kubeconfig?: string }) => {
      process.exitCode = await runInventory(options, io);
    });
}
