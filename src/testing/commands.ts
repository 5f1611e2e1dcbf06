import { spawnSync } from 'node:child_process';

/** Whether `name` is a command this machine runs (on PATH, or a shell builtin). */
export const hasCommand = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
