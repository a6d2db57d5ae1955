import { expect, it } from 'vitest';
import { CHECK_IDS } from '@burrow/server';
import { DOCTOR_CHECKS } from './commands/doctor.js';

it("lists the server's checks in --skip/--only (kept apart so that --help does not load the server)", () => {
  expect([...DOCTOR_CHECKS]).toEqual([...CHECK_IDS]);
});
