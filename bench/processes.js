// bench/processes: every process the benchmark starts goes through a ProcessGroup, which remembers
// its PID and stops it (SIGTERM, then SIGKILL after a grace period) in `stopAll()`, called from
// run.js's `finally` and from its signal handlers. Also: loopback port helpers and /proc readers.
// Must not import from test/ or src/ (only node:*).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** sleep resolves after ms milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** freePort asks the kernel for a free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** portOpen tells whether 127.0.0.1:port accepts a TCP connection now. */
export function portOpen(port) {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

/** waitForPort polls until 127.0.0.1:port accepts connections, or throws after timeoutMs. */
export async function waitForPort(port, what, timeoutMs = 15_000, proc) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await portOpen(port)) return;
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode}) before listening on ${port}:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** rssKiB reads a process's resident set size (VmRSS) from /proc, in KiB. */
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/**
 * rssParts reads VmRSS and its split into RssAnon (heap, stacks: what a leak grows) and RssFile +
 * RssShmem (mapped files and shared memory, e.g. SQLite's WAL index), in KiB.
 */
export function rssParts(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') + field('RssShmem') };
}

/** openFilesLimit reads this process's soft and hard RLIMIT_NOFILE from /proc/self/limits. */
export function openFilesLimit() {
  const m = /Max open files\s+(\S+)\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? { soft: m[1], hard: m[2] } : { soft: '?', hard: '?' };
}

/**
 * ProcessGroup starts child processes and stops each of them by its PID. Stopping is idempotent
 * and never throws, so it is safe in a `finally`.
 */
export class ProcessGroup {
  #procs = new Set();

  /**
   * start launches a long-running process. The returned handle has pid, output() (stdout+stderr
   * so far, capped), exitCode, exited (a promise), waitFor(regex) and stop().
   */
  start(name, cmd, args, opts = {}) {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const listeners = new Set();
    const onData = (d) => {
      // Keep only the last 64 KiB: a chatty process must not grow the benchmark's own memory.
      out = (out + d.toString()).slice(-65536);
      for (const l of listeners) l();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
    child.once('error', (err) => {
      out += `\nspawn error: ${err.message}`;
      for (const l of listeners) l();
    });
    const handle = {
      name,
      pid: child.pid,
      child,
      exited,
      get exitCode() {
        return child.exitCode ?? child.signalCode;
      },
      output: () => out,
      /** waitFor resolves with the first match of re in the output. */
      waitFor: (re, timeoutMs = 30_000) =>
        new Promise((resolve, reject) => {
          const check = () => {
            const m = re.exec(out);
            if (m) {
              done();
              resolve(m);
            } else if (child.exitCode !== null || child.signalCode !== null) {
              done();
              reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${out}`));
            }
          };
          const timer = setTimeout(() => {
            done();
            reject(new Error(`${name} did not print ${re} within ${timeoutMs} ms:\n${out}`));
          }, timeoutMs);
          const done = () => {
            clearTimeout(timer);
            listeners.delete(check);
            child.off('exit', check);
          };
          listeners.add(check);
          child.on('exit', check);
          check();
        }),
      stop: (graceMs = 10_000) => this.#stop(handle, graceMs),
    };
    if (child.pid === undefined) {
      // spawn failed synchronously (missing binary): report through exited/output, nothing to track.
      return handle;
    }
    this.#procs.add(handle);
    void exited.then(() => this.#procs.delete(handle));
    return handle;
  }

  /**
   * run starts a process and waits for it to finish. Resolves { code, stdout, stderr, ms };
   * kills it by PID after timeoutMs.
   */
  run(cmd, args, opts = {}) {
    return new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const handle = { name: cmd, pid: child.pid, child, exited: new Promise((r) => child.once('close', r)) };
      if (child.pid !== undefined) this.#procs.add(handle);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
        reject(new Error(`${cmd} ${args.join(' ')} timed out after ${opts.timeoutMs} ms\n${stdout}\n${stderr}`));
      }, opts.timeoutMs ?? 120_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        this.#procs.delete(handle);
        reject(err);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        this.#procs.delete(handle);
        resolve({ code: code ?? 128, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input ?? '');
    });
  }

  async #stop(handle, graceMs) {
    const { child } = handle;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      this.#procs.delete(handle);
      return;
    }
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => {
      try {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, graceMs);
    await handle.exited;
    clearTimeout(timer);
    this.#procs.delete(handle);
  }

  /** stopAll stops every process still running, newest first (clients before servers). */
  async stopAll() {
    for (const h of [...this.#procs].reverse()) await this.#stop(h, 5_000);
  }

  /** killAllNow sends SIGKILL to every tracked PID at once (for a second Ctrl-C). */
  killAllNow() {
    for (const h of this.#procs) {
      try {
        process.kill(h.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}
