import { runRuntimeContract } from '../contract.test-suite.js';
import { runInteractiveContract } from '../interactive-contract.test-suite.js';
import { FAKE_USER_IMAGE, FakeRuntime } from './fake-runtime.js';

runRuntimeContract('fake', () =>
  Promise.resolve({
    runtime: new FakeRuntime(),
    image: 'fake/image',
    userImage: FAKE_USER_IMAGE,
    idleStopExitCode: 0,
  }),
);
runInteractiveContract('fake', () =>
  Promise.resolve({
    runtime: new FakeRuntime(),
    image: 'fake/image',
    processes: true,
    realShell: false,
    serveEcho: (runtime, id, port) => {
      (runtime as FakeRuntime).ports.serve(id, port, (connection) => connection.pipe(connection));
      return Promise.resolve();
    },
  }),
);
