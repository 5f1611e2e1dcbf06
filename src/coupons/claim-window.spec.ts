import { describe, expect, it } from 'vitest';
import { claimWindowError } from './claim-window.js';

describe('claimWindowError', () => {
  const event = { startsAt: 1_000, endsAt: 2_000 };
  const coupon = { validFrom: 1_000, validUntil: 2_000 };

  it('accepts inside both windows, start inclusive', () => {
    expect(claimWindowError(event, coupon, 1_000)).toBeNull();
    expect(claimWindowError(event, coupon, 1_999)).toBeNull();
  });

  it('refuses before the event or before the coupon is valid', () => {
    expect(claimWindowError(event, coupon, 999)).toBe('EVENT_NOT_STARTED');
    expect(claimWindowError(event, { validFrom: 1_500, validUntil: 2_000 }, 1_200)).toBe('EVENT_NOT_STARTED');
  });

  it('refuses at and after the end of either window', () => {
    expect(claimWindowError(event, coupon, 2_000)).toBe('EVENT_ENDED');
    expect(claimWindowError(event, { validFrom: 1_000, validUntil: 1_500 }, 1_600)).toBe('EVENT_ENDED');
  });

  it('calls a claim on an ended coupon "ended" even if its event has not started', () => {
    expect(claimWindowError({ startsAt: 5_000, endsAt: 6_000 }, { validFrom: 0, validUntil: 100 }, 200)).toBe(
      'EVENT_ENDED',
    );
  });
});
