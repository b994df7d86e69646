/**
 * A CliContext for running `main(argv, ctx)` in-process: in-memory streams, a given environment
 * and home, a `spawn` that records what would run (a stand-in for the OS, not for xsh code), and
 * signals the test raises itself.
 */
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../../../src/cli/shared/context.js';
import { systemClock } from '../../../../src/util/clock.js';

/** Spawned is one recorded child process. */
export interface Spawned {
  cmd: string;
  args: readonly string[];
}

/** TestContext is a CliContext plus what the test reads back. */
export interface TestContext extends CliContext {
  stdout(): string;
  stderr(): string;
  spawned: Spawned[];
  /** Signal handlers currently registered through onSignal. */
  signalHandlers: Set<(s: 'SIGINT' | 'SIGTERM') => void>;
  /** raise delivers a signal to every registered handler. */
  raise(signal: 'SIGINT' | 'SIGTERM'): void;
  /** waitForStdout resolves once stdout matches re. */
  waitForStdout(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** testContext builds a context; `onSpawn` plays the child and returns its exit code. */
export function testContext(o: { home: string; env?: Record<string, string | undefined>; onSpawn?: (s: Spawned) => Promise<number> | number }): TestContext {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const stdin = new PassThrough();
  const signalHandlers = new Set<(s: 'SIGINT' | 'SIGTERM') => void>();
  const spawned: Spawned[] = [];
  return {
    io: { stdin, stdout: out, stderr: err, isTTY: false },
    env: { XSH_KEY_STORAGE: 'file', ...o.env },
    clock: systemClock,
    home: o.home,
    debug: false,
    async spawn(cmd, args) {
      const s = { cmd, args: [...args] };
      spawned.push(s);
      return o.onSpawn ? o.onSpawn(s) : 0;
    },
    onSignal(handler) {
      signalHandlers.add(handler);
      return () => signalHandlers.delete(handler);
    },
    stdout: () => stdout,
    stderr: () => stderr,
    spawned,
    signalHandlers,
    raise(signal) {
      for (const h of [...signalHandlers]) h(signal);
    },
    waitForStdout(re, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(stdout);
          if (m) {
            out.off('data', check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          out.off('data', check);
          reject(new Error(`stdout never matched ${re}:\n${stdout}\nstderr:\n${stderr}`));
        }, timeoutMs);
        out.on('data', check);
        check();
      });
    },
  };
}
