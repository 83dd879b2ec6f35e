// `awi controller`: runs the reconciler until SIGTERM/SIGINT.
import { KubeConfig } from '@kubernetes/client-node';
import { Option, type Command } from 'commander';
import { pino } from 'pino';
import { Controller } from '../controller/controller.js';
import { configOption, loadConfigOrReport } from './config-option.js';
import { EXIT, type Io } from './io.js';

export function registerController(program: Command, io: Io): void {
  program
    .command('controller')
    .description('watch AwsWorkloadIdentityClaims and reconcile them into IAM roles, policies and bindings')
    .addOption(configOption())
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig file (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)').env('KUBECONFIG'))
    .addOption(new Option('--log-level <level>', 'pino log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (opts: { config: string; kubeconfig?: string; logLevel: string }) => {
      const config = loadConfigOrReport(opts.config, io);
      if (!config) {
        process.exitCode = EXIT.usage;
        return;
      }
      const log = pino({ level: opts.logLevel, base: { component: 'awi-controller' } });
      const kc = new KubeConfig();
      if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
      else kc.loadFromDefault();

      const controller = new Controller({ config, kubeConfig: kc, log });
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down: no new reconciles, waiting for in-flight ones');
        void controller.stop().then(() => {
          log.info('stopped');
          process.exit(0);
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      await controller.start();
    });
}
