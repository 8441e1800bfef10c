import type { Knex } from 'knex';

/**
 * Sales per concert: a hold's concert (from `reservation.held`), so a payment is refused to a fan
 * admitted to another concert's sale; and on each payment the sale and queue ticket of the payer's
 * admission, which `payment.completed` carries so the gateway frees exactly that slot. Null on rows
 * from before sales existed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payable_holds', (t) => {
    t.uuid('concert_id');
  });
  await knex.schema.alterTable('payments', (t) => {
    t.uuid('sale_concert_id');
    t.bigInteger('queue_ticket');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payments', (t) => {
    t.dropColumn('queue_ticket');
    t.dropColumn('sale_concert_id');
  });
  await knex.schema.alterTable('payable_holds', (t) => {
    t.dropColumn('concert_id');
  });
}
