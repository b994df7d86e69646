/**
 * cli/shared/prompt: reading secrets and codes from the user or from standard input.
 *
 * Scripts pass `--password-stdin`: line 1 is the password and, when a one-time code is needed
 * later, the next line is the code. On a terminal, input is read without echo.
 */
import { createInterface, type Interface } from 'node:readline';
import { usage } from '../../errors.js';
import type { CliContext } from './context.js';

/** LineReader hands out stdin lines one at a time, on demand. */
export class LineReader {
  private rl: Interface | undefined;
  private lines: string[] = [];
  private waiters: ((l: string | undefined) => void)[] = [];
  private ended = false;

  constructor(private readonly ctx: CliContext) {}

  private start(): void {
    if (this.rl) return;
    this.rl = createInterface({ input: this.ctx.io.stdin, terminal: false });
    this.rl.on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    this.rl.on('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
  }

  /** next resolves with the next line, or undefined at end of input. */
  next(): Promise<string | undefined> {
    this.start();
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((r) => this.waiters.push(r));
  }

  /** close stops reading. */
  close(): void {
    this.rl?.close();
  }
}

/** promptSecret asks on the terminal without echoing what is typed. */
export function promptSecret(ctx: CliContext, question: string): Promise<string> {
  const { stdin, stderr } = ctx.io;
  if (!ctx.io.isTTY || !stdin.setRawMode) {
    throw usage('no terminal to ask for a password', { hint: 'Pass it on standard input with --password-stdin.' });
  }
  stderr.write(question);
  return new Promise((resolve, reject) => {
    let buf = '';
    stdin.setRawMode!(true);
    stdin.resume();
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(buf);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(Object.assign(new Error('interrupted'), { interrupted: true }));
          return;
        }
        if (ch === '\u007f') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}
