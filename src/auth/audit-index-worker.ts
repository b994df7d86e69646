/**
 * auth/audit-index-worker: the entry of the worker thread that indexes the write-ahead audit log
 * into SQLite (see auth/audit-indexer for why and for the messages). It opens its own connection
 * to the store's file and runs a {@link LogConsumer} there; the parent only learns positions.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LogConsumer } from '../audit/tail.js';
import { openSqliteBackend } from '../store/sqlite.js';
import type { AuditEvent } from '../store/backend.js';
import type { Logger } from '../util/log.js';
import type { IndexWorkerData, ToIndexer, ToParent } from './audit-indexer.js';

const port = parentPort;
if (!port) throw new Error('audit-index-worker runs only as a worker thread');
const data = workerData as IndexWorkerData;
const post = (m: ToParent): void => port.postMessage(m);

/** The parent owns the log output: warnings travel there with their fields (never event bodies). */
const log: Logger = {
  debug: () => {},
  info: (msg, fields) => post({ type: 'log', level: 'info', msg, ...(fields ? { fields } : {}) }),
  warn: (msg, fields) => post({ type: 'log', level: 'warn', msg, ...(fields ? { fields } : {}) }),
  error: (msg, fields) => post({ type: 'log', level: 'error', msg, ...(fields ? { fields } : {}) }),
  child: () => log,
};

async function main(): Promise<void> {
  const backend = await openSqliteBackend(data.dataDir, { fileName: data.fileName });
  let reported = -1;
  const consumer = new LogConsumer({
    dir: data.dir,
    offsetFile: data.offsetFile,
    deliver: (events, lines) => backend.appendEvents(events as unknown as AuditEvent[], lines),
    log,
    name: 'index',
    pollMs: data.pollMs,
    onDelivered: (pos, delivered) => {
      reported = delivered;
      post({ type: 'pos', pos, delivered });
    },
  });
  post({ type: 'ready', pos: consumer.position });
  port!.on('message', (m: ToIndexer) => {
    if (m.type === 'kick') consumer.kick();
    else if (m.type === 'stop') {
      void consumer
        .stop()
        .then(() => {
          if (reported !== consumer.delivered) post({ type: 'pos', pos: consumer.position, delivered: consumer.delivered });
          return backend.close();
        })
        .finally(() => {
          post({ type: 'stopped' });
          port!.close();
        });
    }
  });
  consumer.start();
}

main().catch((err: unknown) => {
  post({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  port.close();
});
