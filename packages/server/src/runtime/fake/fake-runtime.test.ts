import { runRuntimeContract } from '../contract.test-suite.js';
import { FakeRuntime } from './fake-runtime.js';

runRuntimeContract('fake', () => Promise.resolve({ runtime: new FakeRuntime(), image: 'fake/image' }));
