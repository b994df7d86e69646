// bench/inspector: force a full garbage collection in a running Node process through its inspector
// (the process was started with --inspect=127.0.0.1:0), so RSS read afterwards is live memory
// rather than live memory plus garbage the collector had not reached yet. The WebSocket client is
// Node's own (--experimental-websocket on Node 20), run in a short-lived child process.

/** inspectorUrl returns the ws:// URL a process printed for --inspect. */
export async function inspectorUrl(handle) {
  const m = await handle.waitFor(/Debugger listening on (ws:\/\/\S+)/, 15_000);
  return m[1];
}

const GC_SCRIPT = `
const ws = new WebSocket(process.argv[1]);
const fail = (why) => { console.error(why); process.exit(2); };
setTimeout(() => fail('inspector did not answer within 20 s'), 20000).unref();
ws.onerror = (e) => fail('inspector connection failed: ' + (e.message ?? e.type));
ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
ws.onmessage = (m) => {
  const d = JSON.parse(m.data);
  if (d.id !== 1) return;
  if (d.error) fail(JSON.stringify(d.error));
  ws.close();
  process.exit(0);
};
`;

/** collectGarbage runs a full GC in the process behind url and waits for it to finish. */
export async function collectGarbage(group, url) {
  const r = await group.run(process.execPath, ['--experimental-websocket', '--no-warnings', '-e', GC_SCRIPT, url], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`forcing a GC through ${url} failed: ${r.stderr}`);
}
