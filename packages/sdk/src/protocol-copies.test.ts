/**
 * The SDK keeps copies of a few protocol values, so that it imports only types from the protocol (no schema library
 * in a browser bundle): the copies must agree with the protocol.
 */
import { ERROR_CODES, ERROR_STATUS, MAX_EXEC_TIMEOUT_SECONDS as PROTOCOL_MAX } from '@burrow/protocol';
import { describe, expect, it } from 'vitest';
import { MAX_EXEC_TIMEOUT_SECONDS } from './commands.js';
import { statusForCode } from './errors.js';

describe("the SDK's copies of protocol values", () => {
  it('the longest exec timeout', () => {
    expect(MAX_EXEC_TIMEOUT_SECONDS).toBe(PROTOCOL_MAX);
  });

  it.each(ERROR_CODES)('the status of %s', (code) => {
    expect(statusForCode(code)).toBe(ERROR_STATUS[code]);
  });
});
