/**
 * Ubuntu 20.04 (the original's app servers) has glibc 2.31. This test proves the built app boots
 * there and logs members in, on a Debian bullseye root (glibc 2.31) bootstrapped with mmdebstrap
 * from Debian's archive, with the project's own Node 24 (the npm `node` package) running dist/.
 * It also shows the defect it guards against: argon2 0.45's prebuilt needs GLIBC_2.34.
 *
 * The root is cached per machine in $XDG_CACHE_HOME/pick/bullseye (~/.cache by default; PICK_ROOTFS_CACHE moves it;
 * delete it to rebuild; PICK_DEBIAN_MIRROR picks a mirror): every clone of the project on a machine shares one root.
 * The app runs in a mount namespace (chroot) that shares the network namespace, so loopback reaches
 * the test MariaDB, Redis and S3 server. Needs root or unprivileged user namespaces, and mmdebstrap
 * (installed with apt-get when missing and run as root); anything missing fails the test, loudly.
 */
import { MikroORM } from '@mikro-orm/mysql';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/env.js';
import { ormOptions } from '../config/mikro-orm.js';
import { testPort } from '../src/testing/cluster.js';
import { hasCommand } from '../src/testing/commands.js';
import { HttpClient } from '../src/testing/http.js';
import { ARGON2_045_HASHES, insertMemberWithHash } from '../src/testing/legacy-hashes.js';

const project = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const cache = `${process.env.PICK_ROOTFS_CACHE ?? `${process.env.XDG_CACHE_HOME ?? `${homedir()}/.cache`}/pick`}/bullseye`;
const rootfs = `${cache}/rootfs`;
const complete = `${cache}/rootfs.complete`;
const oldArgon2 = `${cache}/argon2-0.45.1`;
const mirror = process.env.PICK_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const port = testPort(60);
// Root here; otherwise passwordless sudo (CI runners); otherwise user namespaces where allowed.
const sudo =
  process.getuid?.() !== 0 && spawnSync('sudo', ['-n', 'true']).status === 0 ? ['sudo', '-n', '--preserve-env'] : [];
const isRoot = process.getuid?.() === 0 || sudo.length > 0;

function run(command: string, args: string[], timeoutMs: number, input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, input });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${output}`,
    );
  }
  return result.stdout;
}

/** [command, args] run with the privileges the root needs (sudo when not root). */
const as = (argv: string[]): [string, string[]] => {
  const full = [...sudo, ...argv];
  return [full[0], full.slice(1)];
};

/**
 * The keyring that verifies Debian's archive, for the bootstrap's source line (undefined: the
 * host's own). A Debian host's own keyring knows the keys that sign bullseye today; an Ubuntu host
 * has none, or (20.04's debian-archive-keyring 2019.1) one from before them. There: Debian 12's
 * debian-archive-keyring package, from Debian's archive, pinned by its SHA-256 (bookworm's Packages
 * index lists the same), unpacked into the cache once.
 */
const DEBIAN_KEYRING_DEB = 'debian-archive-keyring_2023.3+deb12u2_all.deb';
const DEBIAN_KEYRING_SHA256 = 'f699e2f88dca05212f2a452b58475f2993cb6993dfbafb1d0205a3291eb8b4b8';
async function debianKeyring(): Promise<string | undefined> {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (/^ID=debian$/m.test(osRelease) && existsSync('/usr/share/keyrings/debian-archive-keyring.gpg')) return undefined;
  const dir = `${cache}/debian-keyring-${DEBIAN_KEYRING_SHA256.slice(0, 12)}`;
  const keyring = `${dir}/usr/share/keyrings/debian-archive-keyring.gpg`;
  if (!existsSync(keyring)) {
    const response = await fetch(`${mirror}/pool/main/d/debian-archive-keyring/${DEBIAN_KEYRING_DEB}`);
    if (!response.ok) throw new Error(`${DEBIAN_KEYRING_DEB}: HTTP ${response.status}`);
    const deb = Buffer.from(await response.arrayBuffer());
    const sha256 = createHash('sha256').update(deb).digest('hex');
    if (sha256 !== DEBIAN_KEYRING_SHA256)
      throw new Error(`${DEBIAN_KEYRING_DEB}: SHA-256 ${sha256}, expected ${DEBIAN_KEYRING_SHA256}`);
    mkdirSync(cache, { recursive: true });
    writeFileSync(`${dir}.deb`, deb);
    run('dpkg-deb', ['-x', `${dir}.deb`, dir], 60_000);
  }
  return keyring;
}

/** The bullseye root, bootstrapped once (minbase: ~140 MB) and reused by later runs. */
async function ensureBullseyeRoot(): Promise<{ builtMs: number }> {
  if (existsSync(complete)) return { builtMs: 0 };
  if (!hasCommand('mmdebstrap')) {
    if (!isRoot)
      throw new Error('mmdebstrap is missing: run `sudo apt-get install mmdebstrap` (the bullseye test needs it)');
    run(...as(['apt-get', 'update', '-qq']), 300_000);
    run(...as(['apt-get', 'install', '-y', '-qq', 'mmdebstrap']), 300_000);
  }
  const started = Date.now();
  mkdirSync(cache, { recursive: true });
  const building = `${rootfs}.building`;
  run(...as(['rm', '-rf', building, rootfs]), 120_000);
  // Root mode when we are root; otherwise mmdebstrap's own user-namespace mode. A keyring of our own
  // goes in a `signed-by` source line read from stdin: Ubuntu 20.04's mmdebstrap 0.4 has no
  // `--keyring`, and its apt fails the bootstrap on the warning a `Dir::Etc::Trusted` file gives.
  const keyring = await debianKeyring();
  run(
    ...as([
      'mmdebstrap',
      '--variant=minbase',
      `--mode=${isRoot ? 'root' : 'unshare'}`,
      'bullseye',
      building,
      keyring ? '-' : mirror,
    ]),
    1_500_000,
    keyring ? `deb [signed-by=${keyring}] ${mirror} bullseye main\n` : undefined,
  );
  run(...as(['mv', building, rootfs]), 30_000);
  writeFileSync(complete, `${new Date().toISOString()} ${mirror}\n`);
  return { builtMs: Date.now() - started };
}

/**
 * argv of a command run inside the root: a private mount namespace (the mounts vanish with it)
 * where the project is bound at /pick, with /dev and /proc, then chroot. Same network namespace.
 */
function inBullseye(command: string[], extraBinds: Record<string, string> = {}): string[] {
  const binds = { '/pick': project, ...extraBinds };
  const script = [
    'set -e',
    `mount --rbind /dev "${rootfs}/dev"`,
    `mount -t proc proc "${rootfs}/proc"`,
    ...Object.entries(binds).flatMap(([inside, outside]) => [
      `mkdir -p "${rootfs}${inside}"`,
      `mount --bind "${outside}" "${rootfs}${inside}"`,
    ]),
    `exec chroot "${rootfs}" "$@"`,
  ].join('\n');
  const namespaces = isRoot ? ['--mount', '--fork'] : ['--user', '--map-root-user', '--mount', '--pid', '--fork'];
  return [...sudo, 'unshare', ...namespaces, '--', 'sh', '-c', script, 'sh', ...command];
}

const NODE = '/pick/node_modules/node/bin/node';

describe('Ubuntu 20.04 stand-in: Debian bullseye root (glibc 2.31)', () => {
  let rootBuiltMs = 0;
  beforeAll(async () => {
    if (!hasCommand('unshare') || !hasCommand('chroot'))
      throw new Error('unshare and chroot (util-linux, coreutils) are needed');
    rootBuiltMs = (await ensureBullseyeRoot()).builtMs;
    console.log(
      rootBuiltMs
        ? `bullseye root bootstrapped with mmdebstrap in ${(rootBuiltMs / 1000).toFixed(1)} s`
        : `bullseye root reused from ${rootfs}`,
    );
  }, 1_800_000);

  it('has glibc 2.31, and the project Node 24 runs there', () => {
    const [cmd, ...args] = inBullseye(['/usr/bin/ldd', '--version']);
    expect(run(cmd, args, 30_000)).toMatch(/GLIBC 2\.31/);
    const [ncmd, ...nargs] = inBullseye([NODE, '-p', 'process.versions.node']);
    expect(run(ncmd, nargs, 30_000).trim()).toMatch(/^24\./);
  });

  it("today's defect: argon2 0.45's prebuilt does not load there (GLIBC_2.34 not found), though it loads on this host", () => {
    if (!existsSync(`${oldArgon2}/node_modules/argon2/package.json`)) {
      mkdirSync(oldArgon2, { recursive: true });
      writeFileSync(`${oldArgon2}/package.json`, '{"name":"old-argon2-probe","private":true}\n');
      // --ignore-scripts: the package ships its prebuilt binaries; nothing needs compiling.
      run(
        'npm',
        ['install', '--prefix', oldArgon2, '--no-audit', '--no-fund', '--ignore-scripts', 'argon2@0.45.1'],
        300_000,
      );
    }
    const probe = "require('argon2'); console.log('argon2 loaded')";
    const host = spawnSync(`${project}/node_modules/node/bin/node`, ['-e', probe], {
      cwd: oldArgon2,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(host.stdout).toContain('argon2 loaded');
    const [cmd, ...args] = inBullseye(['/bin/sh', '-c', `cd /old-argon2 && exec ${NODE} -e "${probe}"`], {
      '/old-argon2': oldArgon2,
    });
    const inside = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
    const message = inside.stderr.split('\n').find((line) => line.includes('GLIBC')) ?? inside.stderr;
    console.log(`argon2 0.45.1 on bullseye: exit ${inside.status}: ${message.trim()}`);
    expect(inside.status).not.toBe(0);
    expect(inside.stderr).toMatch(/version `GLIBC_2\.34' not found/);
  });

  describe('the built app (dist/) on bullseye', () => {
    let app: ChildProcess | undefined;
    let output = '';
    afterAll(async () => {
      if (!app?.pid || app.exitCode !== null) return;
      const exited = new Promise((resolve) => app?.once('exit', resolve));
      process.kill(-app.pid, 'SIGTERM');
      const timer = setTimeout(() => app?.pid && process.kill(-app.pid, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }, 30_000);

    it('boots, and logs in a member hashed by argon2 0.45 and one who signs up there', async () => {
      if (!existsSync(`${project}/dist/src/main.js`))
        throw new Error('dist/ is missing: the global setup builds it (npm run build)');
      const env = {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      };
      const [cmd, ...args] = inBullseye(['/bin/sh', '-c', `cd /pick && exec ${NODE} dist/src/main.js`]);
      const started = performance.now();
      app = spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      app.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      app.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

      const http = new HttpClient(`http://127.0.0.1:${port}`);
      let ready = false;
      while (!ready && performance.now() - started < 60_000) {
        if (app.exitCode !== null)
          throw new Error(`the app exited on bullseye (${app.exitCode}):\n${output.slice(-3000)}`);
        ready = await http.get('/health/ready').then(
          (r) => r.status === 200,
          () => false,
        );
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      if (!ready) throw new Error(`the app did not become ready on bullseye within 60 s:\n${output.slice(-3000)}`);
      const bootMs = performance.now() - started;

      // A member from before the switch (argon2 0.45's hash), stored as that release left it.
      const orm = await MikroORM.init(ormOptions(loadConfig({ ...process.env })));
      const legacy = await insertMemberWithHash(orm.em.fork(), ARGON2_045_HASHES.appParams.hash).finally(() =>
        orm.close(true),
      );
      const loginStarted = performance.now();
      const login = await http.post('/api/auth/login', {
        email: legacy.email,
        password: ARGON2_045_HASHES.appParams.password,
      });
      const loginMs = performance.now() - loginStarted;
      expect(login.status).toBe(200);
      // A new member: hashed there by @node-rs/argon2, then logged in.
      const fresh = await http.member('CUSTOMER');
      expect((await http.get('/api/general/products', fresh.accessToken)).status).toBe(200);
      const wrong = await http.post('/api/auth/login', { email: legacy.email, password: 'not-it' });
      expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
      expect(output).not.toMatch(/GLIBC|ERR_DLOPEN_FAILED/);
      console.log(
        `bullseye (glibc 2.31): dist/ ready in ${(bootMs / 1000).toFixed(1)} s, legacy-hash login ${loginMs.toFixed(0)} ms`,
      );
    }, 120_000);
  });
});
