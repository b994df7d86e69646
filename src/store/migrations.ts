/**
 * store/migrations: the PostgreSQL schema as numbered steps. A database records the steps applied
 * in `xport_schema`; a start applies the missing ones in order, inside one transaction that first
 * takes a transaction-scoped advisory lock, so replicas starting together migrate exactly once
 * and the others wait, then see the result. Imports nothing; postgres.ts runs the steps.
 */

/** MIGRATIONS_LOCK is the advisory lock key the migration transaction holds ('xport' in ASCII, then 1). */
export const MIGRATIONS_LOCK = 0x78706f727401n;

/**
 * MIGRATIONS are the schema steps; index + 1 is the version. Append new steps, never edit applied ones.
 *
 * Version 1:
 * - `xport_meta.revision` is the one revision counter. Every write locks its row first, so writes
 *   are serialised cluster-wide (like SQLite's single writer) and revisions grow in commit order
 *   without gaps; a refused conditional write rolls its increment back.
 * - `xport_kv` keys use the C collation, so ORDER BY key is JavaScript's string order and a
 *   `LIKE 'prefix%'` scan uses the primary-key index. Values are JSON text, kept byte for byte.
 *   Expiry is epoch milliseconds compared against the caller's clock (tests use a fake one).
 * - `xport_put` / `xport_delete` do check-and-write server-side in one round trip, and announce
 *   the change on the `xport_kv` channel for watchers (NOTIFY is delivered on commit only).
 * - `xport_events` mirrors SQLite's events table; ids are minted by the writer under an advisory lock.
 */
export const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE xport_meta (name text PRIMARY KEY, value bigint NOT NULL);
INSERT INTO xport_meta (name, value) VALUES ('revision', 0);
CREATE TABLE xport_kv (
  key text COLLATE "C" PRIMARY KEY,
  value text NOT NULL,
  revision bigint NOT NULL CHECK (revision > 0),
  expires bigint
);
CREATE INDEX xport_kv_expires ON xport_kv (expires) WHERE expires IS NOT NULL;
CREATE TABLE xport_events (
  id text COLLATE "C" PRIMARY KEY,
  time text COLLATE "C",
  type text,
  usr text,
  data text NOT NULL
);
CREATE INDEX xport_events_type_id ON xport_events (type, id);
CREATE INDEX xport_events_usr_id ON xport_events (usr, id);
CREATE INDEX xport_events_time ON xport_events (time);

-- NOTIFY payloads stop at 8000 bytes; a key too long to announce becomes a resync for every watcher.
CREATE FUNCTION xport_announce(p_type text, p_key text, p_rev bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  payload text := json_build_object('t', p_type, 'k', p_key, 'r', p_rev)::text;
BEGIN
  IF octet_length(payload) > 7900 THEN payload := json_build_object('t', 'resync')::text; END IF;
  PERFORM pg_notify('xport_kv', payload);
END $$;

CREATE FUNCTION xport_put(p_key text, p_value text, p_expect bigint, p_expires bigint, p_now bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  rev bigint;
  cur_rev bigint;
  cur_exp bigint;
  live bigint := 0;
BEGIN
  -- The counter row is the write lock: everything below sees the writes committed before it.
  SELECT value INTO rev FROM xport_meta WHERE name = 'revision' FOR UPDATE;
  SELECT revision, expires INTO cur_rev, cur_exp FROM xport_kv WHERE key = p_key;
  IF FOUND AND (cur_exp IS NULL OR cur_exp > p_now) THEN live := cur_rev; END IF;
  IF p_expect IS NOT NULL AND live <> p_expect THEN
    RAISE EXCEPTION '% was modified concurrently', p_key USING ERRCODE = 'XP409';
  END IF;
  rev := rev + 1;
  UPDATE xport_meta SET value = rev WHERE name = 'revision';
  INSERT INTO xport_kv (key, value, revision, expires) VALUES (p_key, p_value, rev, p_expires)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision, expires = excluded.expires;
  PERFORM xport_announce('put', p_key, rev);
  RETURN rev;
END $$;

CREATE FUNCTION xport_delete(p_key text, p_expect bigint, p_now bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  rev bigint;
  cur_rev bigint;
  cur_exp bigint;
  live bigint := 0;
BEGIN
  SELECT value INTO rev FROM xport_meta WHERE name = 'revision' FOR UPDATE;
  SELECT revision, expires INTO cur_rev, cur_exp FROM xport_kv WHERE key = p_key;
  IF NOT FOUND THEN
    IF p_expect IS NOT NULL AND p_expect <> 0 THEN
      RAISE EXCEPTION '% was modified concurrently', p_key USING ERRCODE = 'XP409';
    END IF;
    RETURN false;
  END IF;
  IF cur_exp IS NULL OR cur_exp > p_now THEN live := cur_rev; END IF;
  IF p_expect IS NOT NULL AND live <> p_expect THEN
    RAISE EXCEPTION '% was modified concurrently', p_key USING ERRCODE = 'XP409';
  END IF;
  DELETE FROM xport_kv WHERE key = p_key;
  IF live = 0 THEN RETURN false; END IF;
  rev := rev + 1;
  UPDATE xport_meta SET value = rev WHERE name = 'revision';
  PERFORM xport_announce('delete', p_key, rev);
  RETURN true;
END $$;
`,
];

/** SCHEMA_VERSION is the newest schema this build knows. */
export const SCHEMA_VERSION = MIGRATIONS.length;
