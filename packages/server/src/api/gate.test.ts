import { gateSuite } from './gate.test-suite.js';

gateSuite('fake');
