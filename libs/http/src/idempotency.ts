import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { createPeriodicJob, type PeriodicJob } from '@ticketing/db';
import type { Logger } from '@ticketing/telemetry';
import type { Knex } from 'knex';
import { ProblemError } from './problem';

export const IDEMPOTENCY_TABLE = 'idempotency_keys';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Keys are opaque to us: 1..255 visible ASCII characters (a UUID is the usual choice). */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * Creates the table behind `Idempotency-Key` handling: one row per (scope, key), scope being the
 * caller, so two users can never collide or read each other's answers. Call from a service migration.
 */
export async function createIdempotencyTable(knex: Knex): Promise<void> {
  await knex.schema.createTable(IDEMPOTENCY_TABLE, (t) => {
    t.text('scope').notNullable();
    t.text('key').notNullable();
    t.text('fingerprint').notNullable();
    t.text('state').notNullable(); // IN_FLIGHT | DONE
    t.integer('status_code');
    t.jsonb('body');
    /** What the request created (e.g. a payment id), recorded before the answer is known. */
    t.text('resource_id');
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['scope', 'key']);
  });
  await knex.raw(`create index ${IDEMPOTENCY_TABLE}_created_idx on ${IDEMPOTENCY_TABLE} (created_at)`);
}

/** The `Idempotency-Key` header, required and well-formed, else 400 IDEMPOTENCY_KEY_REQUIRED. */
export function readIdempotencyKey(req: Request): string {
  const value = req.get(IDEMPOTENCY_HEADER);
  if (value === undefined || value === '') {
    throw new ProblemError('IDEMPOTENCY_KEY_REQUIRED', 'this request changes money: send an Idempotency-Key header (e.g. a fresh UUID) and reuse it when retrying');
  }
  if (!KEY_PATTERN.test(value)) {
    throw new ProblemError('IDEMPOTENCY_KEY_REQUIRED', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return value;
}

/** A stable digest of what the request asks for: same key with a different request → 422. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export interface StoredAnswer {
  status: number;
  body: unknown;
}

/** The first request with this key: do the work, then `complete` in the same transaction as the effect. */
export interface IdempotencyClaim {
  readonly kind: 'claimed';
  /**
   * Records the answer; call inside the transaction that applies the effect, so both commit or neither.
   * Throws 409 IDEMPOTENCY_KEY_IN_FLIGHT (so that transaction rolls back) if a retry took the key over meanwhile.
   */
  complete(trx: Knex | Knex.Transaction, answer: StoredAnswer): Promise<void>;
  /** Remembers what the request created before its answer is known (a crash then resumes from it); throws like `complete` once taken over. */
  attach(trx: Knex | Knex.Transaction, resourceId: string): Promise<void>;
  /** Gives the key back after a failure that changed nothing, so a retry can run again (nothing, once taken over). */
  release(): Promise<void>;
  /** Set when an earlier holder of the key died after recording what it created. */
  readonly resourceId: string | null;
}

export type IdempotencyOutcome = IdempotencyClaim | { readonly kind: 'replay'; readonly answer: StoredAnswer; readonly resourceId: string | null };

export interface IdempotencyStore {
  /**
   * Claims `key` for `scope`, or returns the answer it already has. Throws 422
   * IDEMPOTENCY_KEY_REUSED for a different request under the same key and 409
   * IDEMPOTENCY_KEY_IN_FLIGHT while another request holds it.
   */
  begin(scope: string, key: string, fingerprint: string): Promise<IdempotencyOutcome>;
  /** Deletes answers older than the retention (keys are kept at least 24 hours). */
  purgeExpired(): Promise<number>;
}

export interface IdempotencyOptions {
  db: Knex;
  /** How long a claim stays exclusive before a retry may take it over (its holder presumed dead). */
  lockMs?: number;
  retentionHours?: number;
}

interface KeyRow {
  fingerprint: string;
  state: 'IN_FLIGHT' | 'DONE';
  status_code: number | null;
  body: unknown;
  resource_id: string | null;
  locked_until: Date | null;
}

/**
 * `Idempotency-Key` semantics backed by the service's own PostgreSQL: a claim row is inserted first
 * (so a concurrent duplicate sees it and gets 409 rather than waiting), and the answer is written in
 * the same transaction as the effect, so an answer exists exactly when the effect does. A claim whose
 * holder is presumed dead (lock lapsed, no answer) is taken over by the next retry. The holder may
 * only be stalled, so every claim carries a fencing token, the `locked_until` it set (each takeover
 * sets a later one): `complete`, `attach` and `release` act only while the row still holds their
 * token, so a holder whose claim was taken over fails its transaction instead of applying the effect
 * a second time.
 */
export function createIdempotencyStore({ db, lockMs = 30_000, retentionHours = 48 }: IdempotencyOptions): IdempotencyStore {
  const table = () => db(IDEMPOTENCY_TABLE);

  function claim(scope: string, key: string, token: string, resourceId: string | null): IdempotencyClaim {
    const owned = (q: Knex.QueryBuilder) => q.where({ scope, key, state: 'IN_FLIGHT' }).andWhereRaw('locked_until = ?::timestamptz', [token]);
    const lost = () =>
      new ProblemError('IDEMPOTENCY_KEY_IN_FLIGHT', 'this request took so long that a retry with the same Idempotency-Key took it over; ask again for its answer');
    return {
      kind: 'claimed',
      resourceId,
      async complete(trx, { status, body }) {
        const updated = await owned(trx(IDEMPOTENCY_TABLE)).update({ state: 'DONE', status_code: status, body: JSON.stringify(body), locked_until: null });
        if (updated !== 1) throw lost();
      },
      async attach(trx, id) {
        const updated = await owned(trx(IDEMPOTENCY_TABLE)).update({ resource_id: id });
        if (updated !== 1) throw lost();
      },
      async release() {
        await owned(table()).delete();
      },
    };
  }

  return {
    async begin(scope, key, fingerprint) {
      // The token is read back as text: a JS Date would drop its microseconds.
      const inserted = await db.raw<{ rows: Array<{ token: string }> }>(
        `insert into ${IDEMPOTENCY_TABLE} (scope, key, fingerprint, state, locked_until)
         values (?, ?, ?, 'IN_FLIGHT', now() + make_interval(secs => ?))
         on conflict (scope, key) do nothing returning locked_until::text as token`,
        [scope, key, fingerprint, lockMs / 1000],
      );
      if (inserted.rows.length === 1) return claim(scope, key, inserted.rows[0].token, null);

      const row = (await table().where({ scope, key }).first()) as KeyRow | undefined;
      // Purged between the insert and the read: extremely unlikely; a retry resolves it.
      if (!row) throw new ProblemError('IDEMPOTENCY_KEY_IN_FLIGHT', 'this Idempotency-Key is being processed; retry shortly');
      if (row.fingerprint !== fingerprint) {
        throw new ProblemError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key for a new request');
      }
      if (row.state === 'DONE') return { kind: 'replay', answer: { status: row.status_code ?? 200, body: row.body }, resourceId: row.resource_id };

      // now() + lockMs is later than the lapsed locked_until, so the earlier holder's token no longer matches.
      const taken = await db.raw<{ rows: Array<{ resource_id: string | null; token: string }> }>(
        `update ${IDEMPOTENCY_TABLE} set locked_until = now() + make_interval(secs => ?)
         where scope = ? and key = ? and state = 'IN_FLIGHT' and locked_until < now() returning resource_id, locked_until::text as token`,
        [lockMs / 1000, scope, key],
      );
      if (taken.rows.length === 1) return claim(scope, key, taken.rows[0].token, taken.rows[0].resource_id);
      throw new ProblemError('IDEMPOTENCY_KEY_IN_FLIGHT', 'a request with this Idempotency-Key is still being processed; retry shortly for its answer');
    },

    async purgeExpired() {
      return table()
        .where('created_at', '<', db.raw(`now() - make_interval(hours => ?)`, [retentionHours]))
        .delete();
    },
  };
}

/** Deletes answers past their retention at start and then every `intervalMs` (any number of instances may run it). */
export function createIdempotencyPurge({ store, logger, intervalMs }: { store: IdempotencyStore; logger: Logger; intervalMs: number }): PeriodicJob {
  return createPeriodicJob({
    name: 'idempotency-purge',
    intervalMs,
    logger,
    runAtStart: true,
    run: async () => {
      const deleted = await store.purgeExpired();
      if (deleted > 0) logger.info({ deleted }, 'purged expired idempotency keys');
    },
  });
}
