import { ceilingsSuite } from './ceilings.test-suite.js';

ceilingsSuite('fake');
