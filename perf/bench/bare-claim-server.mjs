/**
 * The machine's ceiling for a claim: a bare `node:http` cluster (node:cluster, the same round-robin
 * PM2's cluster mode uses) of the same worker count as Pick's, doing only what no claim can skip:
 * read the member from the bearer token (HS256, jsonwebtoken as Pick uses it, with the secret as a
 * KeyObject and a verified token remembered until its exp, as Pick does) and run Pick's own claim script (dist/'s couponClaim, the
 * typed LuaScript Pick runs) once in Redis over an auto-pipelining ioredis client, then answer 202 or
 * 409 with a body the size of Pick's.
 *
 * Left out, so its rate bounds Pick's from above: the per-member limit (counted by the same script
 * in Pick), the event and time-window checks, persistence (the claim -> job record and the Bull job
 * of each accepted batch, the drain's inserts), the request id, metrics and logs.
 *
 *   node perf/bench/bare-claim-server.mjs PORT WORKERS
 *
 * Environment: BARE_JWT_SECRET (Pick's JWT_ACCESS_SECRET), BARE_REDIS_HOST / BARE_REDIS_PORT /
 * BARE_REDIS_DB, BARE_KEY_PREFIX (the coupon's keys: <prefix>:state, :members, :pending,
 * :pendingIndex, :rate; the caller sets <prefix>:state's max before the rush).
 * The primary prints "ready" once every worker listens, and stops its workers on SIGTERM/SIGINT.
 */
import cluster from 'node:cluster';
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import { runPrimary } from './bare-primary.mjs';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { ClaimResult, couponClaim } from '../../dist/src/coupons/claim-scripts.js';

const [portArg, workersArg] = process.argv.slice(2);
const port = Number(portArg);
const workers = Number(workersArg);

if (cluster.isPrimary) {
  if (!port || !workers || !process.env.BARE_JWT_SECRET || !process.env.BARE_KEY_PREFIX)
    throw new Error('usage: BARE_JWT_SECRET=… BARE_KEY_PREFIX=… bare-claim-server.mjs PORT WORKERS');
  runPrimary(workers);
} else {
  // Exit, not die, on the primary's SIGTERM: a --cpu-prof profile is written at exit (bench:profile).
  process.on('SIGTERM', () => process.exit(0));
  // A KeyObject, as Pick's TokenSigning holds its secret: given a string, jsonwebtoken turns it into a
  // key on every verify (createPublicKey/createSecretKey: 16% of this server's CPU in a profile).
  const secret = createSecretKey(Buffer.from(process.env.BARE_JWT_SECRET, 'utf8'));
  const prefix = process.env.BARE_KEY_PREFIX;
  const keys = Object.fromEntries(
    ['state', 'members', 'pending', 'pendingIndex', 'rate'].map((name) => [name, `${prefix}:${name}`]),
  );
  const redis = new Redis({
    host: process.env.BARE_REDIS_HOST ?? '127.0.0.1',
    port: Number(process.env.BARE_REDIS_PORT ?? 6379),
    db: Number(process.env.BARE_REDIS_DB ?? 0),
    enableAutoPipelining: true,
  });
  couponClaim.define(redis);
  /** token -> { sub, exp (ms) } */
  const verified = new Map();
  const member = (header) => {
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!token) return undefined;
    const known = verified.get(token);
    if (known && known.exp > Date.now()) return known.sub;
    try {
      const claims = jwt.verify(token, secret, { algorithms: ['HS256'] });
      verified.set(token, { sub: String(claims.sub), exp: claims.exp * 1000 });
      return String(claims.sub);
    } catch {
      return undefined;
    }
  };
  const reply = (response, status, body) =>
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(body);
  const ACCEPTED = JSON.stringify({ status: 'PENDING' });
  const REFUSED = {
    [ClaimResult.DUPLICATE]: JSON.stringify({
      statusCode: 409,
      code: 'COUPON_ALREADY_ISSUED',
      message: 'You already have this coupon',
    }),
    [ClaimResult.SOLD_OUT]: JSON.stringify({
      statusCode: 409,
      code: 'COUPON_SOLD_OUT',
      message: 'This coupon is sold out',
    }),
  };
  createServer((request, response) => {
    const memberId = member(request.headers.authorization);
    if (!memberId) return reply(response, 401, '{"statusCode":401,"code":"UNAUTHORIZED"}');
    // Drain the (empty) body, then decide.
    request.resume();
    // No rate limit: no counter given, the script counts nothing.
    couponClaim.run(redis, { ...keys, memberId, nowMs: Date.now(), couponId: 'bare' }).then(
      ({ result }) =>
        result === ClaimResult.ACCEPTED
          ? reply(response, 202, ACCEPTED)
          : reply(response, 409, REFUSED[result] ?? '{}'),
      () => reply(response, 503, '{"statusCode":503,"code":"SERVICE_UNAVAILABLE"}'),
    );
  }).listen(port, '127.0.0.1');
}
