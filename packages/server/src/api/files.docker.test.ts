import { fileRoutesSuite } from './files.test-suite.js';

fileRoutesSuite('docker');
