import type { WalletView } from '@ticketing/contracts';
import type { Knex } from 'knex';
import { accountRepository as accounts } from './account.repository';

/** The caller's balance; a user who never charged has an implicit account with 0. */
export function createGetWalletHandler({ db }: { db: Knex }) {
  return async function getWallet(userId: string): Promise<WalletView> {
    const { balance, updatedAt } = await accounts.find(db, userId);
    return { balance, updatedAt: updatedAt ? updatedAt.toISOString() : null };
  };
}
