import { wsAuthSuite } from './ws-auth.test-suite.js';

wsAuthSuite('fake');
