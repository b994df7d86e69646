/**
 * A bounded fuzz run of the agent's Redis engine against a real mutual-TLS redis-server (the
 * `npm run fuzz` tool, bench/fuzz.js, over the built dist/): generated command names — real names
 * with case changes, NUL and other bytes, truncations, container forms, repeated options, and
 * random bytes — plus malformed RESP frames, under a role that allows only `+@read` minus
 * `@dangerous`. Nothing denied may change Redis's state (every db's keys and values, CONFIG,
 * ACL users, functions), nothing may crash, and every denial is audited.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../helpers/cli.js';
import { requireRedis } from '../helpers/redis-server.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface FuzzResult {
  frames: number;
  malformedFrames: number;
  allowed: number;
  deniedByXport: number;
  auditedDenials: number;
  engineDenied: number;
  crashes: number;
  stateChanges: number;
  snapshots: number;
  notes: string[];
}

requireRedis();

describe('engine fuzz (bounded, real redis-server)', () => {
  for (const seed of [1, 77]) {
    it(`lets no denied command change Redis state and never crashes (seed ${seed}, 30,000 frames)`, async () => {
      const r = await runProcess(process.execPath, [join(ROOT, 'bench', 'fuzz.js'), '--frames', '30000', '--seed', String(seed), '--json'], {
        timeoutMs: 240_000,
      });
      expect(r.code, r.stderr).toBe(0);
      const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as FuzzResult;
      expect(res.notes).toEqual([]);
      expect(res.frames).toBe(30_000);
      expect(res.malformedFrames).toBe(30);
      expect(res.crashes).toBe(0);
      expect(res.stateChanges).toBe(0);
      expect(res.snapshots).toBeGreaterThanOrEqual(1);
      // The run exercised both sides of the verdict, and every denial was audited.
      expect(res.allowed).toBeGreaterThan(100);
      expect(res.deniedByXport).toBeGreaterThan(10_000);
      expect(res.auditedDenials).toBe(res.deniedByXport);
    }, 300_000);
  }
});
