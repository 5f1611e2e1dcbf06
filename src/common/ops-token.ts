import { createHash, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../../config/env.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Whether a request may see the ops details (/metrics, /health/ready's checks): always when OPS_TOKEN is
 * unset (development, tests), else only with `Authorization: Bearer <OPS_TOKEN>` (compared in constant time).
 */
export function opsAuthorized(config: Pick<AppConfig, 'OPS_TOKEN'>, authorization: string | undefined): boolean {
  if (config.OPS_TOKEN === '') return true;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]), digest(config.OPS_TOKEN));
}
