import { describe, expect, it } from 'vitest';
import { BURROW_VERSION } from '@burrow/server';
import { CLI_VERSION } from './version.js';

describe('CLI_VERSION', () => {
  it('is the version the server reports, read without loading the server', () => {
    expect(CLI_VERSION).toBe(BURROW_VERSION);
  });
});
