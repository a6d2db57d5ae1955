import { watchRoutesSuite } from './watch.test-suite.js';

watchRoutesSuite('fake');
