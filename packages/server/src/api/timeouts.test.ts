import { timeoutsSuite } from './timeouts.test-suite.js';

timeoutsSuite('fake');
