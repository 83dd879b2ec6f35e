// The kubeconfig of the cluster awi talks to: the file given, else
// in-cluster, $KUBECONFIG, ~/.kube/config (client-node's loadFromDefault).
//
// A static, named import on purpose: the commands that need a cluster load
// this module dynamically, and a dynamic import('@kubernetes/client-node')
// keeps the package's whole namespace (every generated API group and model)
// in the bundle the image runs (docs/memory.md); a named import lets the
// bundler drop what awi does not use.
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}
