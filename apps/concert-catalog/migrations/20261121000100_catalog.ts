import type { Knex } from 'knex';

/**
 * What is for sale (concerts, schedules, a price per seat) and the seat status read model fed by the
 * reservation service's events. Prices and statuses are separate tables: prices are the catalog's own
 * truth, written once with the schedule; statuses are a projection whose rows only ever move forward
 * in `version` (the reservation service's seat version), so reordered events cannot roll them back.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('concerts', (t) => {
    t.uuid('id').primary();
    t.text('title').notNullable();
    t.text('artist').notNullable();
    t.text('venue').notNullable();
    t.text('description');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('schedules', (t) => {
    t.uuid('id').primary();
    t.uuid('concert_id').notNullable().references('id').inTable('concerts');
    t.timestamp('starts_at', { useTz: true }).notNullable();
    t.timestamp('booking_opens_at', { useTz: true }).notNullable();
    t.timestamp('booking_closes_at', { useTz: true }).notNullable();
    t.integer('seat_count').notNullable().defaultTo(50);
    t.timestamp('published_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['concert_id', 'starts_at']);
  });
  await knex.raw('alter table schedules add constraint schedules_booking_window check (booking_opens_at < booking_closes_at and booking_closes_at <= starts_at)');
  await knex.raw('alter table schedules add constraint schedules_seat_count check (seat_count >= 1)');
  await knex.schema.createTable('schedule_seat_prices', (t) => {
    t.uuid('schedule_id').notNullable().references('id').inTable('schedules');
    t.integer('seat_no').notNullable();
    t.bigInteger('price').notNullable();
    t.primary(['schedule_id', 'seat_no']);
  });
  await knex.schema.createTable('seat_statuses', (t) => {
    t.uuid('schedule_id').notNullable().references('id').inTable('schedules');
    t.integer('seat_no').notNullable();
    t.text('status').notNullable().defaultTo('AVAILABLE');
    // The reservation service's seat version of the last applied event; 0 = nothing applied yet.
    t.integer('version').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['schedule_id', 'seat_no']);
  });
  await knex.raw("alter table seat_statuses add constraint seat_statuses_status check (status in ('AVAILABLE', 'HELD', 'SOLD'))");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('seat_statuses');
  await knex.schema.dropTable('schedule_seat_prices');
  await knex.schema.dropTable('schedules');
  await knex.schema.dropTable('concerts');
}
