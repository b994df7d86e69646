#!/usr/bin/env node
// Fill package-lock.json entries for optional platform packages that the registry reachable from
// our machines does not serve (rollup publishes one binary package per platform; only a few are
// mirrored here). `npm install` then leaves them out of the lock and `npm ci` refuses the lock as
// out of sync. Each entry gets the os/cpu/libc constraints its name encodes, so npm skips it on
// every machine it does not fit and never tries to download it. Run after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const OS = ['android', 'darwin', 'freebsd', 'linux', 'openbsd', 'openharmony', 'win32', 'netbsd', 'sunos', 'aix'];
const CPU = { arm: 'arm', 'arm-eabi': 'arm', arm64: 'arm64', x64: 'x64', ia32: 'ia32', loong64: 'loong64', ppc64: 'ppc64', riscv64: 'riscv64', s390x: 's390x' };

function constraints(name) {
  const m = /^@[^/]+\/[a-z]+-(.+)$/.exec(name);
  if (!m) return undefined;
  const parts = m[1].split('-');
  const os = parts.shift();
  if (!OS.includes(os)) return undefined;
  const rest = parts.join('-');
  const libc = /musl/.test(rest) ? 'musl' : /gnu/.test(rest) ? 'glibc' : undefined;
  const cpuKey = rest.replace(/-(gnu|musl|gnueabihf|musleabihf|msvc)$/, '');
  const cpu = CPU[cpuKey];
  if (!cpu) return undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) };
}

let added = 0;
for (const [key, pkg] of Object.entries(lock.packages)) {
  for (const [dep, range] of Object.entries(pkg.optionalDependencies ?? {})) {
    const depKey = `node_modules/${dep}`;
    if (lock.packages[depKey] || lock.packages[`${key}/node_modules/${dep}`]) continue;
    const c = constraints(dep);
    if (!c) continue;
    lock.packages[depKey] = { version: range, dev: pkg.dev || undefined, optional: true, ...c };
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
lock.packages = sorted;
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`complete-lock: added ${added} optional platform entries`);
