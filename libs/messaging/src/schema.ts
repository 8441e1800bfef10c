import type { Knex } from 'knex';

export const OUTBOX_TABLE = 'outbox';
export const PROCESSED_TABLE = 'processed_messages';
/** Outbox rows the relay gave up on (see the relay's `maxAttempts`), with the reason, for an operator. */
export const OUTBOX_DEAD_LETTER_TABLE = 'outbox_dead_letters';
/** PostgreSQL NOTIFY channel the outbox writer signals on commit, so relays wake at once. */
export const OUTBOX_CHANNEL = 'outbox_committed';

/** Creates the outbox and the idempotent-consumer tables: call from each service's first migration. */
export async function createMessagingTables(knex: Knex): Promise<void> {
  await knex.schema.createTable(OUTBOX_TABLE, (t) => {
    t.bigIncrements('id').primary();
    t.uuid('event_id').notNullable().unique();
    t.text('topic').notNullable();
    t.text('key').notNullable();
    t.text('type').notNullable();
    t.jsonb('envelope').notNullable();
    t.jsonb('trace_context').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Failed publishes the row itself caused (a broker outage does not count), plus the one that published it.
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('last_error');
    t.timestamp('published_at', { useTz: true });
  });
  // The relay only ever looks at unpublished rows: keep those indexes tiny.
  await knex.raw(`create index outbox_pending_idx on ${OUTBOX_TABLE} (id) where published_at is null`);
  await knex.raw(`create index outbox_pending_key_idx on ${OUTBOX_TABLE} (key, id) where published_at is null`);
  await knex.raw(`create index outbox_published_idx on ${OUTBOX_TABLE} (published_at) where published_at is not null`);

  await knex.schema.createTable(PROCESSED_TABLE, (t) => {
    t.text('consumer').notNullable();
    t.uuid('message_id').notNullable();
    t.timestamp('processed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['consumer', 'message_id']);
  });
  await createProcessedMessagesTimeIndex(knex);
  await createOutboxDeadLetterTable(knex);
}

/**
 * The retention purge deletes processed message ids by age; the key is by consumer and id, so
 * without this index every purge would scan the whole table. Idempotent: services whose first
 * migration predates it get it from a migration of its own.
 */
export async function createProcessedMessagesTimeIndex(knex: Knex): Promise<void> {
  await knex.raw(`create index if not exists processed_messages_processed_at_idx on ${PROCESSED_TABLE} (processed_at)`);
}

/**
 * Where the relay moves an outbox row that failed `maxAttempts` times for a reason of its own (a
 * topic that does not exist, a message the broker refuses), so later rows of its key go on. Kept
 * until an operator replays or deletes them. Idempotent: services whose first migration predates it
 * get it from a migration of its own.
 */
export async function createOutboxDeadLetterTable(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable(OUTBOX_DEAD_LETTER_TABLE)) return;
  await knex.schema.createTable(OUTBOX_DEAD_LETTER_TABLE, (t) => {
    t.bigInteger('id').primary(); // the outbox row's id
    t.uuid('event_id').notNullable().unique();
    t.text('topic').notNullable();
    t.text('key').notNullable();
    t.text('type').notNullable();
    t.jsonb('envelope').notNullable();
    t.jsonb('trace_context').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.integer('attempts').notNullable();
    t.text('reason').notNullable();
    t.text('last_error').notNullable();
    t.timestamp('dead_lettered_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function dropOutboxDeadLetterTable(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists(OUTBOX_DEAD_LETTER_TABLE);
}

export async function dropMessagingTables(knex: Knex): Promise<void> {
  await dropOutboxDeadLetterTable(knex);
  await knex.schema.dropTableIfExists(PROCESSED_TABLE);
  await knex.schema.dropTableIfExists(OUTBOX_TABLE);
}
