import { metaRoutesSuite } from './meta.test-suite.js';

metaRoutesSuite('docker');
