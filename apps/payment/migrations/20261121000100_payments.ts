import { createIdempotencyTable, IDEMPOTENCY_TABLE } from '@ticketing/http';
import type { Knex } from 'knex';

/**
 * Payments (one saga per row), the holds this service may charge for (a projection of the
 * reservation service's events: it never reads another service's database), and Idempotency-Key answers.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('payments', (t) => {
    t.uuid('id').primary();
    t.uuid('user_id').notNullable();
    t.uuid('reservation_id').notNullable();
    t.bigInteger('amount').notNullable();
    t.text('status').notNullable();
    t.text('failure_reason');
    t.boolean('refunded').notNullable().defaultTo(false);
    t.text('idempotency_key').notNullable();
    /** Trace of the request that started the saga: retried commands keep the checkout in one trace. */
    t.jsonb('trace_context').notNullable().defaultTo('{}');
    t.uuid('correlation_id').notNullable();
    /** When the current step began (stall detection) and when its command is sent again if unanswered. */
    t.timestamp('step_started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('next_retry_at', { useTz: true });
    t.integer('step_attempts').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
  });
  await knex.raw(`alter table payments add constraint payments_status_check check (status in ('STARTED','DEBITED','COMPENSATING','COMPLETED','FAILED'))`);
  await knex.raw(`alter table payments add constraint payments_amount_check check (amount >= 0)`);
  // One live or completed payment per hold: a second key for the same hold is refused by the database,
  // not by a read-then-write. A FAILED payment does not count, so the user may try again.
  await knex.raw(`create unique index payments_one_per_reservation on payments (reservation_id) where status <> 'FAILED'`);
  await knex.raw(`create unique index payments_user_key on payments (user_id, idempotency_key)`);
  await knex.raw(`create index payments_due_idx on payments (next_retry_at) where status in ('STARTED','DEBITED','COMPENSATING')`);
  await knex.raw(`create index payments_user_idx on payments (user_id, created_at desc)`);

  await knex.schema.createTable('payable_holds', (t) => {
    t.uuid('reservation_id').primary();
    t.uuid('user_id').notNullable();
    t.uuid('schedule_id').notNullable();
    t.integer('seat_no').notNullable();
    t.bigInteger('price').notNullable();
    t.timestamp('hold_expires_at', { useTz: true }).notNullable();
    t.text('status').notNullable(); // HELD | CANCELLED | EXPIRED | SOLD
    /** The seat version of the last event applied: older events are ignored. */
    t.integer('seat_version').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await createIdempotencyTable(knex);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(IDEMPOTENCY_TABLE);
  await knex.schema.dropTableIfExists('payable_holds');
  await knex.schema.dropTableIfExists('payments');
}
