import { createPickClient, type PickClientOptions, type PickSchemas } from './pick-client.js';

// #region claim-flow
/** Log in, look at an event, claim its first coupon and wait until it is in the member's coupons. */
export async function claimFirstCoupon(
  baseUrl: string,
  login: { email: string; password: string },
  eventId: string,
  options: Pick<PickClientOptions, 'fetch'> = {},
): Promise<PickSchemas['MemberCouponDto']> {
  const session: { accessToken?: string } = {};
  const pick = createPickClient(baseUrl, { ...options, accessToken: () => session.accessToken });

  const tokens = await pick.POST('/api/auth/login', { body: login });
  if (tokens.error) throw new Error(`login: ${tokens.error.code}`); // INVALID_CREDENTIALS, VALIDATION_FAILED, …
  session.accessToken = tokens.data.accessToken;

  const event = await pick.GET('/api/events/{eventId}', { params: { path: { eventId } } });
  if (event.error) throw new Error(`event: ${event.error.code}`); // EVENT_NOT_FOUND, …
  const coupon = event.data.coupons[0];
  console.log(`${event.data.title}: ${coupon.name}, ${coupon.remaining ?? '?'} of ${coupon.maxIssuance} left`);

  const path = { eventId, couponId: coupon.id };
  const claim = await pick.POST('/api/events/{eventId}/coupons/{couponId}/issue', { params: { path } });
  // 202 PENDING: accepted, being written. 409 COUPON_ALREADY_ISSUED: claimed before; both end in "my coupons".
  if (claim.error && claim.error.code !== 'COUPON_ALREADY_ISSUED') {
    throw new Error(`claim: ${claim.response.status} ${claim.error.code}`); // COUPON_SOLD_OUT, EVENT_NOT_STARTED, EVENT_ENDED, …
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const status = await pick.GET('/api/events/{eventId}/coupons/{couponId}/issue', { params: { path } });
    if (status.data?.status === 'ISSUED') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const mine = await pick.GET('/api/members/me/coupons');
  const issued = mine.data?.find((memberCoupon) => memberCoupon.couponId === coupon.id);
  if (!issued) throw new Error('the claimed coupon is not in my coupons yet');
  return issued;
}
// #endregion claim-flow
