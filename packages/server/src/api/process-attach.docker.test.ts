import { processAttachSuite } from './process-attach.test-suite.js';

processAttachSuite('docker');
