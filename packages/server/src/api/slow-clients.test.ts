import { slowClientsSuite } from './slow-clients.test-suite.js';

slowClientsSuite('fake');
