import { watchRoutesSuite } from './watch.test-suite.js';

watchRoutesSuite('docker');
