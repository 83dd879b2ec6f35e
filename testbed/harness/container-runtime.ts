// Exit 0 when the container backend can run here (testbed/scripts/containers.sh
// made its images and podman runs them); otherwise print why not and exit 1.
// Used by testbed/scripts/test.sh to decide on the container backend's pass.
import { containerSettings, podman } from './podman.js';

const settings = containerSettings();
let problem = 'problem' in settings ? settings.problem : undefined;
if (!('problem' in settings)) {
  try {
    await podman(settings, ['image', 'exists', settings.controlPlaneImage]);
  } catch (err) {
    problem = `${settings.controlPlaneImage} is missing: ${(err as Error).message.split('\n')[0]}`;
  }
}
if (problem) {
  console.log(problem.split('\n')[0]);
  process.exit(1);
}
