import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real database servers from Debian's packages (`.ci/run` installs them), for the data-span tests and the data
 * benchmark: each started on 127.0.0.1 on a free port in a temporary data directory, and stopped with its
 * directory removed.
 */
export interface DatabaseServer {
  readonly port: number;
  /** Connection settings for a client: a user with every right on the `shop` database. */
  readonly user: string;
  readonly password: string;
  readonly database: string;
  stop(): Promise<void>;
}

/** A port on 127.0.0.1 that was free a moment ago, for servers that must be told their port up front. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function findBinary(candidates: string[], packageName: string): string {
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`${candidates[0]} not found: install Debian's ${packageName} package (.ci/run does)`);
  return found;
}

/** Runs a command to completion; throws with its output when it fails. */
function run(command: string, args: string[], as: { uid?: number; gid?: number } = {}): void {
  const result = spawnSync(command, args, { encoding: 'utf8', ...as });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
}

/** Waits until `ready` resolves true, polling; kills the server and throws if it does not come up in time. */
async function waitUntil(server: ChildProcess, name: string, output: () => string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await ready().catch(() => false))) {
    if (server.exitCode !== null) throw new Error(`${name} exited (${server.exitCode}):\n${output()}`);
    if (Date.now() > deadline) {
      server.kill('SIGKILL');
      throw new Error(`${name} did not start in time:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function collect(child: ChildProcess): () => string {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk));
  return () => output;
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}

/** The handle of a started server: stopping it ends the process and removes its directory. */
function handle(child: ChildProcess, dir: string, port: number, login: { user: string; password: string; database: string }, signal: NodeJS.Signals = 'SIGTERM'): DatabaseServer {
  return {
    port,
    ...login,
    async stop() {
      await stopProcess(child, signal);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const client = connect(port, '127.0.0.1');
    client.once('connect', () => {
      client.destroy();
      resolve(true);
    });
    client.once('error', () => resolve(false));
  });
}

/** PostgreSQL, as the `postgres` user when the tests run as root (the server refuses to run as root). */
export async function startPostgres(): Promise<DatabaseServer> {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort().reverse() : [];
  const bin = (name: string) => findBinary(versions.map((v) => `/usr/lib/postgresql/${v}/bin/${name}`).concat(`/usr/lib/postgresql/15/bin/${name}`), 'postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'otel-pg-'));
  // The server refuses to run as root: under root (CI), it and its tools run as Debian's postgres user.
  const as = process.getuid?.() === 0 ? postgresUser() : {};
  if (as.uid !== undefined && as.gid !== undefined) {
    chmodSync(dir, 0o700);
    chownSync(dir, as.uid, as.gid);
  }
  const data = join(dir, 'data');
  run(bin('initdb'), ['-D', data, '-U', 'shop', '--auth=trust', '-E', 'UTF8', '--no-sync'], as);
  const port = await freePort();
  const server = spawn(bin('postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off'], { stdio: ['ignore', 'pipe', 'pipe'], ...as });
  const output = collect(server);
  await waitUntil(server, 'postgres', output, async () => {
    if (!(await canConnect(port))) return false;
    const created = spawnSync(bin('createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'shop', 'shop'], { encoding: 'utf8', ...as });
    return created.status === 0 || created.stderr.includes('already exists');
  });
  // SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to disconnect.
  return handle(server, dir, port, { user: 'shop', password: 'shop', database: 'shop' }, 'SIGINT');
}

function postgresUser(): { uid?: number; gid?: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('no postgres user: install Debian\'s postgresql package (.ci/run does)');
  return { uid, gid: id('-g') };
}

/** Redis, without persistence. */
export async function startRedis(): Promise<DatabaseServer> {
  const binary = findBinary(['/usr/bin/redis-server'], 'redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'otel-redis-'));
  const port = await freePort();
  const server = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(server);
  await waitUntil(server, 'redis-server', output, async () => output().includes('Ready to accept connections'));
  return handle(server, dir, port, { user: '', password: '', database: '0' });
}

/** MariaDB (the MySQL protocol), with a `shop` user and database made over its socket as root. */
export async function startMariaDb(): Promise<DatabaseServer> {
  const daemon = findBinary(['/usr/sbin/mariadbd', '/usr/sbin/mysqld'], 'mariadb-server');
  const install = findBinary(['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'], 'mariadb-server');
  const client = findBinary(['/usr/bin/mariadb', '/usr/bin/mysql'], 'mariadb-client');
  const dir = mkdtempSync(join(tmpdir(), 'otel-mariadb-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const user = process.getuid?.() === 0 ? ['--user=root'] : [];
  run(install, [...user, `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db']);
  const port = await freePort();
  const server = spawn(
    daemon,
    ['--no-defaults', ...user, `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1', `--pid-file=${join(dir, 'pid')}`, '--skip-log-bin', '--innodb-flush-log-at-trx-commit=0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = collect(server);
  const setup = "CREATE DATABASE IF NOT EXISTS shop; CREATE USER IF NOT EXISTS 'shop'@'%' IDENTIFIED BY 'shop'; GRANT ALL ON shop.* TO 'shop'@'%';";
  await waitUntil(server, 'mariadbd', output, async () => spawnSync(client, ['--no-defaults', `--socket=${socket}`, '-u', 'root', '-e', setup]).status === 0);
  return handle(server, dir, port, { user: 'shop', password: 'shop', database: 'shop' });
}

/**
 * RabbitMQ, with its own Erlang port mapper on a free port (the default 4369 may be taken) and its home in the
 * temporary directory; stopping it stops the port mapper too. The `guest` user may connect from 127.0.0.1.
 */
export async function startRabbitMq(): Promise<DatabaseServer> {
  const binary = findBinary(['/usr/lib/rabbitmq/bin/rabbitmq-server'], 'rabbitmq-server');
  const dir = mkdtempSync(join(tmpdir(), 'otel-rabbitmq-'));
  const [port, distributionPort, mapperPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir, 'enabled_plugins'), '[].');
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: `rabbit${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distributionPort),
    ERL_EPMD_PORT: String(mapperPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
  };
  // Its own process group, so that stopping it reaches the Erlang VM the start script runs.
  const server = spawn(binary, [], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output = collect(server);
  await waitUntil(server, 'rabbitmq-server', output, () => canConnect(port));
  return {
    port,
    user: 'guest',
    password: 'guest',
    database: '/',
    async stop() {
      if (server.exitCode === null && server.signalCode === null && server.pid !== undefined) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        process.kill(-server.pid, 'SIGTERM');
        const killer = setTimeout(() => server.pid !== undefined && process.kill(-server.pid, 'SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
      spawnSync('epmd', ['-port', String(mapperPort), '-kill']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
