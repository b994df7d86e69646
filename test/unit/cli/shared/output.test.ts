import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { outputTarget, renderData, renderTable, parseFormat } from '../../../../src/cli/shared/output.js';
import { reportError } from '../../../../src/cli/shared/errors.js';
import { authRequired, usage, internal } from '../../../../src/errors.js';
import type { CliContext } from '../../../../src/cli/shared/context.js';
import { systemClock } from '../../../../src/util/clock.js';

function ctxWithStderr(debug = false) {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (d: Buffer) => (text += d.toString()));
  const ctx = {
    io: { stdin: new PassThrough(), stdout: new PassThrough(), stderr, isTTY: false },
    env: {},
    clock: systemClock,
    home: '/nonexistent',
    debug,
    spawn: async () => 0,
    onSignal: () => () => {},
  } as CliContext;
  return { ctx, text: () => text };
}

describe('CLI output', () => {
  it('renders a tsh-like table: header, one dashed rule, aligned rows, no trailing spaces', () => {
    const t = renderTable(['User', 'Roles'], [['alice', 'access,editor'], ['bob', 'access']]);
    expect(t).toBe('User   Roles\n-----  -------------\nalice  access,editor\nbob    access\n');
  });
  it('escapes control characters in cells', () => {
    expect(renderTable(['A'], [['x\u001b[2J']])).toContain('x\\x1b[2J');
  });
  it('renders json and yaml', () => {
    expect(JSON.parse(renderData({ a: [1] }, 'json'))).toEqual({ a: [1] });
    expect(renderData({ a: 1 }, 'yaml')).toBe('a: 1\n');
  });
  it('rejects unknown formats as usage errors', () => {
    expect(() => parseFormat('xml')).toThrow('unsupported format "xml"');
  });
});

describe('error reporting', () => {
  it('prints ERROR and the hint, and maps kinds to exit codes', () => {
    const a = ctxWithStderr();
    expect(reportError(a.ctx, authRequired('not logged in', { hint: 'Run: xsh login' }))).toBe(4);
    expect(a.text()).toBe('ERROR: not logged in\nRun: xsh login\n');
    const b = ctxWithStderr();
    expect(reportError(b.ctx, usage('bad flag'))).toBe(2);
    const c = ctxWithStderr();
    expect(reportError(c.ctx, internal('boom'))).toBe(1);
    expect(c.text()).toContain('re-run with --debug');
  });
  it('shows stacks and causes only with debug', () => {
    const plain = ctxWithStderr();
    reportError(plain.ctx, new Error('outer', { cause: new Error('inner') }));
    expect(plain.text()).not.toContain('inner');
    const dbg = ctxWithStderr(true);
    reportError(dbg.ctx, new Error('outer', { cause: new Error('inner') }));
    expect(dbg.text()).toContain('inner');
    expect(dbg.text()).toMatch(/\n\s+at /);
  });
});

describe('outputTarget', () => {
  it('gives -o one meaning everywhere: stdout prints, file is the default path, anything else names a file', () => {
    for (const v of [undefined, '', 'stdout', '-']) expect(outputTarget(v, '/etc/x')).toEqual({ kind: 'stdout' });
    expect(outputTarget('file', '/etc/x')).toEqual({ kind: 'file', path: '/etc/x' });
    expect(outputTarget('file:///tmp/unit', '/etc/x')).toEqual({ kind: 'file', path: '/tmp/unit' });
    expect(outputTarget('unit.service', '/etc/x')).toEqual({ kind: 'file', path: 'unit.service' });
    expect(() => outputTarget('file://', '/etc/x')).toThrow('names no file');
  });
});
