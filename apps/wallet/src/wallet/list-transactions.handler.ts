import type { LedgerQuery, LedgerResponse } from '@ticketing/contracts';
import type { Knex } from 'knex';
import { ledgerRepository as ledger } from './account.repository';

/** The caller's ledger, newest first, one page at a time (`before` = the previous page's `nextCursor`). */
export function createListTransactionsHandler({ db }: { db: Knex }) {
  return async function listTransactions(userId: string, query: LedgerQuery): Promise<LedgerResponse> {
    const { entries, nextCursor } = await ledger.page(db, userId, query);
    return { transactions: entries, nextCursor };
  };
}
