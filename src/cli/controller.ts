// `awi controller`: runs the reconciler until SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { configOption, loadConfigOrReport } from './config-option.js';
import { EXIT, type Io } from './io.js';

const inClusterNamespaceFile = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export function registerController(program: Command, io: Io): void {
  program
    .command('controller')
    .description('watch AwsWorkloadIdentityClaims and reconcile them into IAM roles, policies and bindings')
    .addOption(configOption())
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig file (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)').env('KUBECONFIG'))
    .addOption(new Option('--log-level <level>', 'pino log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .addOption(new Option('--probe-port <port>', 'port for /healthz, /readyz and /metrics (0: none)').argParser(Number).default(8080))
    .addOption(new Option('--no-leader-elect', 'reconcile without leader election (run a single replica only)'))
    .addOption(new Option('--lease-namespace <ns>', 'namespace of the leader Lease (default: the pod namespace)').env('POD_NAMESPACE'))
    .addOption(new Option('--lease-name <name>', 'name of the leader Lease').default('awi-controller'))
    .action(async (opts: { config: string; kubeconfig?: string; logLevel: string; probePort: number; leaderElect: boolean; leaseNamespace?: string; leaseName: string }) => {
      const config = loadConfigOrReport(opts.config, io);
      if (!config) {
        process.exitCode = EXIT.usage;
        return;
      }
      // Loaded here, not at the top: the offline commands must not pay for the Kubernetes and AWS clients.
      const [{ loadKubeConfig }, { pino }, { runController }] = await Promise.all([
        import('../kube/kubeconfig.js'),
        import('pino'),
        import('../controller/run.js'),
      ]);
      const log = pino({ level: opts.logLevel, base: { component: 'awi-controller' } });
      let kc;
      try {
        kc = loadKubeConfig(opts.kubeconfig);
      } catch (err) {
        io.err(`awi controller: cannot load the kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      const leaseNamespace = opts.leaseNamespace ?? readIfExists(inClusterNamespaceFile) ?? 'awi-system';

      const running = await runController({
        config, kubeConfig: kc, log,
        ...(opts.probePort > 0 ? { probePort: opts.probePort } : {}),
        ...(opts.leaderElect ? { leaderElection: { namespace: leaseNamespace, name: opts.leaseName } } : {}),
        // Exit so the kubelet restarts us as a clean standby: never reconcile without the lease.
        onLostLeadership: () => process.exit(1),
      });
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down: no new reconciles, waiting for in-flight ones, releasing the lease');
        void running.stop().then(() => {
          log.info('stopped');
          process.exit(0);
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
