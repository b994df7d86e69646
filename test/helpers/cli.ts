/**
 * test/helpers/cli: run the real binaries (`node bin/xsh.js`, `node bin/xctl.js`) and a real
 * `xctl start` service for e2e tests. Every process started here is stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ROOT is the repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** CliResult is what a finished command printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** RunOptions configure {@link runCli}. */
export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Called with each stderr chunk (to answer prompts as they appear). */
  onStderr?: (chunk: string, child: ChildProcess) => void;
}

/** runCli runs xsh or xctl to completion. */
export function runCli(bin: 'xsh' | 'xctl', args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return runProcess(process.execPath, [join(ROOT, 'bin', `${bin}.js`), ...args], opts);
}

/** runProcess runs any program to completion with a timeout, killing it by PID on timeout. */
export function runProcess(cmd: string, args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, XSH_KEY_STORAGE: 'file', ...opts.env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(d.toString(), child);
    });
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // A program that exits without reading its input (redis-cli on a refused connection) closes
    // the pipe: that EPIPE is not the test's failure, the exit code and output are.
    child.stdin.on('error', () => {});
    // With onStderr the test answers prompts as they appear, so stdin stays open after input.
    if (opts.onStderr) {
      if (opts.input !== undefined) child.stdin.write(opts.input);
    } else child.stdin.end(opts.input ?? '');
  });
}

/** tmpDir makes a fresh temporary directory. */
export function tmpDir(prefix = 'xport-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** XportService is a running `xctl start`. */
export interface XportService {
  addr: string;
  pin: string;
  dataDir: string;
  pid: number;
  output(): string;
  /** xctl runs xctl against this service's data dir. */
  xctl(args: string[], opts?: RunOptions): Promise<CliResult>;
  stop(): Promise<number | null>;
}

/** StartXportOptions configure {@link startXport}. */
export interface StartXportOptions {
  dataDir?: string;
  config?: string;
  args?: string[];
  listenAddr?: string;
  /** Run the service with this many file descriptors at most (`ulimit -n`), as small hosts have. */
  fdLimit?: number;
  /** Extra environment for the service (e.g. NODE_EXTRA_CA_CERTS for a test CA). */
  env?: Record<string, string>;
}

/** startXport starts `xctl start` on 127.0.0.1:0 and waits until the proxy listens. */
export async function startXport(opts: StartXportOptions = {}): Promise<XportService> {
  const dataDir = opts.dataDir ?? join(await tmpDir(), 'data');
  const args = ['start'];
  if (opts.config !== undefined) {
    const cfgPath = join(await tmpDir(), 'xport.yaml');
    await writeFile(cfgPath, opts.config);
    args.push('-c', cfgPath);
  } else {
    args.push('--data-dir', dataDir, '--listen-addr', opts.listenAddr ?? '127.0.0.1:0');
  }
  args.push(...(opts.args ?? []));
  const argv = [join(ROOT, 'bin', 'xctl.js'), ...args];
  const spawnOpts = { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) };
  // `exec` keeps the PID: the service is the process the shell became.
  const child =
    opts.fdLimit !== undefined
      ? spawn('/bin/sh', ['-c', `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, process.execPath, ...argv], spawnOpts)
      : spawn(process.execPath, argv, spawnOpts);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const ready = await new Promise<RegExpExecArray>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`xctl start did not become ready:\n${out}`)), 30_000);
    const check = () => {
      const m = /Proxy listening on (\S+) .*CA pin (sha256:[0-9a-f]{64})/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady(m);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`xctl start exited with ${code}:\n${out}`));
    });
  });
  const realDataDir = opts.config !== undefined ? /data dir (\S+)/.exec(out)![1]! : dataDir;
  const pid = child.pid!;
  return {
    addr: ready[1]!,
    pin: ready[2]!,
    dataDir: realDataDir,
    pid,
    output: () => out,
    xctl: (a, o) => runCli('xctl', ['--data-dir', realDataDir, ...a], o),
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** XshUser is a user logged in with their own XSH_HOME. */
export interface XshUser {
  name: string;
  home: string;
  password: string;
  xsh(args: string[], opts?: RunOptions): Promise<CliResult>;
}

/** inviteToken pulls the invite token out of `xctl users add` output. */
export function inviteToken(stdout: string): string {
  const m = /--invite=([0-9a-f]+)/.exec(stdout);
  if (!m) throw new Error(`no invite token in:\n${stdout}`);
  return m[1]!;
}

/** addUser creates a user through xctl and completes the invite through xsh login. */
export async function addUser(svc: XportService, name: string, addArgs: string[], password = `pw-${name}-correct-horse`): Promise<XshUser> {
  const add = await svc.xctl(['users', 'add', name, ...addArgs]);
  if (add.code !== 0) throw new Error(`users add failed: ${add.stderr}`);
  const home = join(await tmpDir(), 'xsh');
  const xsh = (args: string[], o: RunOptions = {}) => runCli('xsh', args, { ...o, env: { XSH_HOME: home, ...o.env } });
  const login = await xsh(['login', `--proxy=${svc.addr}`, `--invite=${inviteToken(add.stdout)}`, `--ca-pin=${svc.pin}`, '--password-stdin'], { input: `${password}\n` });
  if (login.code !== 0) throw new Error(`invite login failed: ${login.stderr}`);
  return { name, home, password, xsh };
}

/** removeDir deletes a temp dir (best effort). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Tunnel is a running `xsh proxy db … --tunnel`. */
export interface Tunnel {
  port: number;
  child: ChildProcess;
  /** Everything the tunnel printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * startTunnel runs `xsh proxy db ARGS --tunnel` as user u and resolves with the local port it
 * prints; it fails with the tunnel's output when it exits or prints no port within 30 s.
 */
export async function startTunnel(u: XshUser, args: string[]): Promise<Tunnel> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'xsh.js'), 'proxy', 'db', ...args, '--tunnel'], {
    env: { ...process.env, XSH_HOME: u.home, XSH_KEY_STORAGE: 'file' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tunnel did not start:\n${out}`)), 30_000);
    child.stdout!.on('data', () => {
      const m = /redis-cli -h 127\.0\.0\.1 -p (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (c) => reject(new Error(`tunnel exited ${c}:\n${out}`)));
  });
  return {
    port,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
