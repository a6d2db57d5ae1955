import { execStreamSuite } from './exec-stream.test-suite.js';

execStreamSuite('docker');
