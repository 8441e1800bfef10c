import { createProcessedMessagesTimeIndex } from '@ticketing/messaging';
import type { Knex } from 'knex';

/** Processed message ids by age, for their retention purge. */
export const up = (knex: Knex) => createProcessedMessagesTimeIndex(knex);
export const down = (knex: Knex) => knex.raw('drop index if exists processed_messages_processed_at_idx');
