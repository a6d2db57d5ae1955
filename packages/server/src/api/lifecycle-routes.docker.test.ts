import { lifecycleRoutesSuite } from './lifecycle-routes.test-suite.js';

lifecycleRoutesSuite('docker');
