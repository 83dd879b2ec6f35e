// Exit 0 when a container runtime answers (k3s can run); otherwise print why
// not and exit 1. Used by test/bed/test.sh to decide on the k3s backend.
import { containerRuntimeProblem } from './k3s.js';

const problem = await containerRuntimeProblem();
if (problem) {
  console.log(problem.split('\n')[0]);
  process.exit(1);
}
