// Entry point for the MikroORM CLI (`npm run migration:create`); the app builds its options in code.
import { loadConfig } from './env.js';
import { ormOptions } from './mikro-orm.js';

export default ormOptions(loadConfig(), { preferTs: true });
