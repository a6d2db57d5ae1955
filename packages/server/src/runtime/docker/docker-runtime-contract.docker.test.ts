import { runRuntimeContract } from '../contract.test-suite.js';
import { echoServer, runInteractiveContract } from '../interactive-contract.test-suite.js';
import {
  BUSYBOX_IMAGE,
  DEBIAN_IMAGE,
  dockerContractTarget,
  testDockerRuntime,
} from '../../test-support/docker-runtime.js';

for (const image of [BUSYBOX_IMAGE, DEBIAN_IMAGE]) {
  runRuntimeContract(`docker, agent socket, ${image}`, () => dockerContractTarget('socket', image));
}
runRuntimeContract(`docker, Engine API exec, ${BUSYBOX_IMAGE}`, () =>
  dockerContractTarget('exec', BUSYBOX_IMAGE),
);

for (const image of [BUSYBOX_IMAGE, DEBIAN_IMAGE]) {
  runInteractiveContract(`docker, agent socket, ${image}`, async () => ({
    ...(await testDockerRuntime('socket')),
    image,
    processes: true,
    realShell: true,
    serveEcho: echoServer(image === DEBIAN_IMAGE ? 'python' : 'busybox'),
  }));
}
runInteractiveContract(`docker, Engine API exec, ${BUSYBOX_IMAGE}`, async () => ({
  ...(await testDockerRuntime('exec')),
  image: BUSYBOX_IMAGE,
  processes: true,
  realShell: true,
  serveEcho: echoServer('busybox'),
}));
