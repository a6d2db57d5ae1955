export * from './errors.js';
export * from './sandbox.js';
export * from './exec.js';
export * from './files.js';
export * from './snapshots.js';
export * from './stats.js';
export * from './s3.js';
export * from './meta.js';
