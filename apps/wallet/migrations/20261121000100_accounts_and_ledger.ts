import { createIdempotencyTable, IDEMPOTENCY_TABLE } from '@ticketing/http';
import type { Knex } from 'knex';

/**
 * Accounts, the append-only ledger, the per-payment decisions and the Idempotency-Key answers.
 *
 * Money is conserved by construction: every balance change is one conditional write on the account
 * row plus one ledger row in the same transaction, so balance = Σ charges − Σ debits + Σ refunds
 * per user (checked in SQL by the tests and the benchmark). `balance >= 0` is the last line of
 * defence behind the conditional debit. A payment is debited and refunded at most once: its
 * decision row (primary key payment_id, op) and a partial unique index on the ledger both say so.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('accounts', (t) => {
    t.uuid('user_id').primary();
    t.bigInteger('balance').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table accounts add constraint accounts_balance_check check (balance >= 0)`);

  await knex.schema.createTable('ledger', (t) => {
    t.bigIncrements('id').primary(); // paging cursor and the order of one account's lines
    t.uuid('transaction_id').notNullable().unique();
    t.uuid('user_id').notNullable();
    t.text('kind').notNullable();
    t.bigInteger('amount').notNullable();
    t.bigInteger('balance_after').notNullable();
    t.uuid('payment_id');
    t.text('idempotency_key');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table ledger add constraint ledger_kind_check check (kind in ('CHARGE', 'DEBIT', 'REFUND'))`);
  await knex.raw(`alter table ledger add constraint ledger_amount_check check (amount > 0)`);
  await knex.raw(`alter table ledger add constraint ledger_balance_after_check check (balance_after >= 0)`);
  // What caused the line: a charge has its Idempotency-Key, a debit or refund its payment.
  await knex.raw(
    `alter table ledger add constraint ledger_cause_check check (
       (kind = 'CHARGE' and payment_id is null and idempotency_key is not null)
       or (kind in ('DEBIT', 'REFUND') and payment_id is not null))`,
  );
  await knex.raw(`create index ledger_user_id_idx on ledger (user_id, id desc)`);
  await knex.raw(`create unique index ledger_payment_kind_idx on ledger (payment_id, kind) where payment_id is not null`);
  // Append-only: history is never rewritten.
  await knex.raw(`create function ledger_append_only() returns trigger language plpgsql as $$
    begin raise exception 'ledger is append-only (% refused)', tg_op; end $$`);
  await knex.raw(`create trigger ledger_append_only before update or delete on ledger for each row execute function ledger_append_only()`);

  // One decision per payment and operation, never changed: a repeated command re-emits it.
  await knex.schema.createTable('payment_decisions', (t) => {
    t.uuid('payment_id').notNullable();
    t.text('op').notNullable();
    t.text('outcome').notNullable();
    t.uuid('user_id').notNullable();
    t.bigInteger('amount').notNullable();
    /** The balance right after the decision (after the debit or refund; as it was, for a rejection). */
    t.bigInteger('balance').notNullable();
    t.timestamp('decided_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['payment_id', 'op']);
  });
  await knex.raw(`alter table payment_decisions add constraint payment_decisions_op_check check (op in ('DEBIT', 'REFUND'))`);
  await knex.raw(
    `alter table payment_decisions add constraint payment_decisions_outcome_check check (outcome in ('APPLIED', 'REJECTED') and (op = 'DEBIT' or outcome = 'APPLIED'))`,
  );
  await knex.raw(`create function payment_decisions_final() returns trigger language plpgsql as $$
    begin raise exception 'a payment decision never changes (% refused)', tg_op; end $$`);
  await knex.raw(`create trigger payment_decisions_final before update or delete on payment_decisions for each row execute function payment_decisions_final()`);

  await createIdempotencyTable(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(IDEMPOTENCY_TABLE);
  await knex.schema.dropTableIfExists('payment_decisions');
  await knex.raw('drop function if exists payment_decisions_final()');
  await knex.schema.dropTableIfExists('ledger');
  await knex.raw('drop function if exists ledger_append_only()');
  await knex.schema.dropTableIfExists('accounts');
}
