import { ConfigError } from '../../config/env.js';

/** Command-line tools end here on failure: a readable message and a non-zero exit. */
export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
}
