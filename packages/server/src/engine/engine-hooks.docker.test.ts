import { engineHooksSuite } from './engine-hooks.test-suite.js';

engineHooksSuite('docker');
