import { fileRoutesSuite } from './files.test-suite.js';

fileRoutesSuite('fake');
