import { s3RoutesSuite } from './s3.test-suite.js';

s3RoutesSuite('docker');
