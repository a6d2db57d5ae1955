import { boundsSuite } from './bounds.test-suite.js';

boundsSuite('docker');
