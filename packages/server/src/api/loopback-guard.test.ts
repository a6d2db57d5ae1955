import { loopbackGuardSuite } from './loopback-guard.test-suite.js';

loopbackGuardSuite('fake');
