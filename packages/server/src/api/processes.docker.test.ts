import { processRoutesSuite } from './processes.test-suite.js';

processRoutesSuite('docker');
