import { claimFirstCoupon } from './claim-flow.js';

// `npm run claim-example -- http://127.0.0.1:3000 1`: the README's claim flow against a running
// Pick (`npm run up` seeds customer@email.com and one running event).
const [baseUrl = 'http://127.0.0.1:3000', eventId = '1', email = 'customer@email.com', password = 'password'] =
  process.argv.slice(2);
const coupon = await claimFirstCoupon(baseUrl, { email, password }, eventId);
console.log(`issued: ${coupon.name} (member coupon ${coupon.id}, ${coupon.status})`);
