import type { Knex } from 'knex';

const LEDGER_CHARGE_KEY_INDEX = 'ledger_charge_key_idx';

/**
 * One CHARGE line per user and Idempotency-Key, whatever the key store says: the last line of
 * defence behind the store's claim, and it outlives the store's answers (purged after 48 h).
 *
 * The ledger is append-only, so a database that already holds a doubled charge cannot be fixed by
 * this migration: it stops and lists them; each needs a decision (a compensating entry) first.
 */
export async function up(knex: Knex): Promise<void> {
  const { rows } = await knex.raw(
    `select user_id, idempotency_key, count(*)::int as lines from ledger
      where kind = 'CHARGE' group by user_id, idempotency_key having count(*) > 1 limit 20`,
  );
  if (rows.length > 0) {
    const list = rows.map((r: { user_id: string; idempotency_key: string; lines: number }) => `${r.user_id}/${r.idempotency_key} (${r.lines} lines)`).join(', ');
    throw new Error(`the ledger already holds charges applied more than once under one Idempotency-Key: ${list}; settle them before this migration`);
  }
  await knex.raw(`create unique index ${LEDGER_CHARGE_KEY_INDEX} on ledger (user_id, idempotency_key) where kind = 'CHARGE'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index if exists ${LEDGER_CHARGE_KEY_INDEX}`);
}
