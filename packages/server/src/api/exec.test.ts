import { execRouteSuite } from './exec.test-suite.js';

execRouteSuite('fake');
