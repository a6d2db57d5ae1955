import { networkIsolationSuite } from './network-isolation.test-suite.js';

networkIsolationSuite('docker');
