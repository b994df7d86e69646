/**
 * cli/shared/context: the only door from commands to the process — streams, environment, clock,
 * home directory and child processes. Tests build their own context; commands never touch
 * `process` directly.
 */
import { spawn as spawnChild } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { systemClock, type Clock } from '../../util/clock.js';

/** CliIO is the command's standard streams. */
export interface CliIO {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable;
  stderr: Writable;
  isTTY: boolean;
}

/** CliContext is everything a command may use from the outside world. */
export interface CliContext {
  readonly io: CliIO;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
  /** xsh's profile directory: $XSH_HOME or ~/.xsh. */
  readonly home: string;
  /** spawn runs a program with inherited stdio and resolves with its exit code. */
  spawn(cmd: string, args: readonly string[]): Promise<number>;
  /** onSignal registers a handler for SIGINT/SIGTERM; returns an unregister function. */
  onSignal(handler: (signal: 'SIGINT' | 'SIGTERM') => void): () => void;
  /** debug is true when --debug or XSH_DEBUG/XCTL_DEBUG is set. */
  debug: boolean;
  /** exitCode lets a command that printed its own outcome choose a non-zero status. */
  exitCode?: number;
  /** pid is this process's id (a running tunnel records it); absent in tests that need none. */
  readonly pid?: number;
  /** isAlive tells whether a process runs (EPERM: it runs as another user); absent means unknown. */
  isAlive?(pid: number): boolean;
}

/** createContext builds the real context from the process. */
export function createContext(): CliContext {
  const env = process.env;
  return {
    io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY) },
    env,
    clock: systemClock,
    home: env.XSH_HOME || join(homedir(), '.xsh'),
    debug: Boolean(env.XSH_DEBUG || env.XCTL_DEBUG),
    pid: process.pid,
    isAlive(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
    spawn: (cmd, args) =>
      new Promise((resolve, reject) => {
        const child = spawnChild(cmd, args, { stdio: 'inherit' });
        child.once('error', reject);
        child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 2 : 1)));
      }),
    onSignal(handler) {
      const h = (s: NodeJS.Signals) => handler(s as 'SIGINT' | 'SIGTERM');
      process.on('SIGINT', h);
      process.on('SIGTERM', h);
      return () => {
        process.off('SIGINT', h);
        process.off('SIGTERM', h);
      };
    },
  };
}
