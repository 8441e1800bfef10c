import type { Knex } from 'knex';

/**
 * A concert's sale (its waiting room's settings), at most one per concert, replaced as a whole by
 * each PUT. `revision` grows by one per change; `sale.configured` carries it, so the gateway keeps
 * the newest whatever order the events arrive in.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sales', (t) => {
    t.uuid('concert_id').primary().references('id').inTable('concerts');
    t.integer('revision').notNullable();
    t.timestamp('queue_opens_at', { useTz: true }).notNullable();
    t.timestamp('sale_opens_at', { useTz: true }).notNullable();
    t.integer('max_active').notNullable();
    t.integer('admit_per_minute').notNullable();
    t.integer('active_minutes').notNullable();
    t.text('mode').notNullable();
    t.integer('pow_difficulty').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table sales add constraint sales_opening_order check (queue_opens_at <= sale_opens_at)`);
  await knex.raw(`alter table sales add constraint sales_mode check (mode in ('queue', 'passthrough'))`);
  await knex.raw(`alter table sales add constraint sales_positive check (revision >= 1 and max_active >= 1 and admit_per_minute >= 1 and active_minutes >= 1 and pow_difficulty >= 0)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('sales');
}
