import { runtimeChoiceSuite } from './runtime-choice.test-suite.js';

runtimeChoiceSuite('fake');
