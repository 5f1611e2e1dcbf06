import { describe, expect, it } from 'vitest';
import { batchJobId, issuanceJobId } from './issuance.queue.js';

describe('batchJobId', () => {
  it('depends on the claims, not on the order they arrived in', () => {
    expect(batchJobId('7', ['3', '11', '2'])).toBe(batchJobId('7', ['2', '3', '11']));
  });

  it('differs for another member set or another coupon', () => {
    const id = batchJobId('7', ['2', '3']);
    expect(batchJobId('7', ['2', '3', '4'])).not.toBe(id);
    expect(batchJobId('7', ['2'])).not.toBe(id);
    expect(batchJobId('8', ['2', '3'])).not.toBe(id);
    // '2,3' and '23' must not meet: the separator is hashed, the count is in the id.
    expect(batchJobId('7', ['23'])).not.toBe(batchJobId('7', ['2', '3']));
  });

  it('is never a Bull integer id nor a single claim id', () => {
    const id = batchJobId('7', ['5']);
    expect(id).not.toMatch(/^\d+$/);
    expect(id).not.toBe(issuanceJobId('7', '5'));
    expect(id.startsWith('7:b1:')).toBe(true);
  });

  it('does not change the caller array', () => {
    const members = ['3', '1', '2'];
    batchJobId('7', members);
    expect(members).toEqual(['3', '1', '2']);
  });
});
