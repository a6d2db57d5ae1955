import { sandboxRoutesSuite } from './sandboxes.test-suite.js';

sandboxRoutesSuite('fake');
