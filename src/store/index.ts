/**
 * store: the storage layer's public surface: the Backend contract, the memory and SQLite backends,
 * and the data-dir lock. Re-exports only; importing it loads better-sqlite3.
 */
export type { AuditEvent, Backend, EventQuery, Item, PutOptions } from './backend.js';
export { MemoryBackend } from './memory.js';
export { SqliteBackend, openSqliteBackend, type SqliteBackendOptions } from './sqlite.js';
export { acquireDataDirLock, LOCK_FILE_NAME, type DataDirLock } from './lock.js';
export { newEventId } from './event-id.js';
