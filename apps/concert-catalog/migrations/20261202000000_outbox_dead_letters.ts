import { createOutboxDeadLetterTable, dropOutboxDeadLetterTable } from '@ticketing/messaging';
import type { Knex } from 'knex';

/** Outbox rows the relay gave up on, with the reason (libs/messaging). */
export const up = (knex: Knex) => createOutboxDeadLetterTable(knex);
export const down = (knex: Knex) => dropOutboxDeadLetterTable(knex);
