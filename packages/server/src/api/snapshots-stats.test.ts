import { snapshotsAndStatsSuite } from './snapshots-stats.test-suite.js';

snapshotsAndStatsSuite('fake');
