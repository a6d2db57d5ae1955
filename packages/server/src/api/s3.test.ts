import { s3RoutesSuite } from './s3.test-suite.js';

s3RoutesSuite('fake');
