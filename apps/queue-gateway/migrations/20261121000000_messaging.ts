import { createMessagingTables, dropMessagingTables } from '@ticketing/messaging';
import type { Knex } from 'knex';

/** Outbox and processed-message tables (transactional outbox, idempotent consumer). */
export const up = (knex: Knex) => createMessagingTables(knex);
export const down = (knex: Knex) => dropMessagingTables(knex);
