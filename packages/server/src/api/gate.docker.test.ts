import { gateSuite } from './gate.test-suite.js';

gateSuite('docker');
