import { dashboardRoutesSuite } from './dashboard.test-suite.js';

dashboardRoutesSuite('docker');
