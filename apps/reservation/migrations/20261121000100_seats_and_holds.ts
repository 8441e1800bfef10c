import type { Knex } from 'knex';

/**
 * Seat state per schedule, reservations, and the per-user hold counter.
 *
 * Every change of a seat is one conditional update on its row (`version` + 1), so the row lock
 * settles every race. The partial unique index on reservations is the last line of defence for
 * invariant 1: two live (HELD or SOLD) reservations of one seat cannot both commit.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('schedules', (t) => {
    t.uuid('id').primary();
    t.uuid('concert_id').notNullable();
    t.integer('seat_count').notNullable();
    t.timestamp('booking_opens_at', { useTz: true }).notNullable();
    t.timestamp('booking_closes_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('seats', (t) => {
    t.uuid('schedule_id').notNullable().references('id').inTable('schedules');
    t.integer('seat_no').notNullable();
    t.bigInteger('price').notNullable();
    t.text('status').notNullable().defaultTo('AVAILABLE');
    t.uuid('reservation_id');
    t.uuid('holder_user_id');
    t.timestamp('hold_expires_at', { useTz: true });
    t.integer('version').notNullable().defaultTo(1);
    t.primary(['schedule_id', 'seat_no']);
  });
  await knex.raw(`alter table seats add constraint seats_status_check check (status in ('AVAILABLE', 'HELD', 'SOLD'))`);
  await knex.raw(
    `alter table seats add constraint seats_holder_check check (
       (status = 'AVAILABLE' and reservation_id is null and holder_user_id is null and hold_expires_at is null)
       or (status = 'HELD' and reservation_id is not null and holder_user_id is not null and hold_expires_at is not null)
       or (status = 'SOLD' and reservation_id is not null and holder_user_id is not null and hold_expires_at is null))`,
  );
  // The sweeper's scan: only live holds, oldest deadline first.
  await knex.raw(`create index seats_hold_expiry_idx on seats (hold_expires_at) where status = 'HELD'`);
  await knex.raw(`create unique index seats_reservation_idx on seats (reservation_id) where reservation_id is not null`);

  await knex.schema.createTable('reservations', (t) => {
    t.uuid('id').primary();
    t.uuid('schedule_id').notNullable();
    t.integer('seat_no').notNullable();
    t.uuid('user_id').notNullable();
    t.bigInteger('price').notNullable();
    t.text('status').notNullable();
    t.timestamp('hold_expires_at', { useTz: true }).notNullable();
    t.uuid('payment_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id', 'created_at']);
  });
  await knex.raw(`alter table reservations add constraint reservations_status_check check (status in ('HELD', 'CANCELLED', 'EXPIRED', 'SOLD'))`);
  await knex.raw(`create unique index reservations_live_seat_idx on reservations (schedule_id, seat_no) where status in ('HELD', 'SOLD')`);

  // Live holds per user and schedule: the limit is a conditional increment on this row (n < limit).
  await knex.schema.createTable('hold_counts', (t) => {
    t.uuid('user_id').notNullable();
    t.uuid('schedule_id').notNullable();
    t.integer('n').notNullable();
    t.primary(['user_id', 'schedule_id']);
  });
  await knex.raw(`alter table hold_counts add constraint hold_counts_n_check check (n >= 0)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('hold_counts');
  await knex.schema.dropTableIfExists('reservations');
  await knex.schema.dropTableIfExists('seats');
  await knex.schema.dropTableIfExists('schedules');
}
