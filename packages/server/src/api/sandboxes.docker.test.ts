import { sandboxRoutesSuite } from './sandboxes.test-suite.js';

sandboxRoutesSuite('docker');
