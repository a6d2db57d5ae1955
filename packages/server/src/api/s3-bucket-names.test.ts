import { s3BucketNamesSuite } from './s3-bucket-names.test-suite.js';

s3BucketNamesSuite('fake');
