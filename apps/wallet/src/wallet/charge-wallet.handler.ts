import type { ChargeRequest, ChargeResponse } from '@ticketing/contracts';
import { newId } from '@ticketing/db';
import { requestFingerprint, type IdempotencyStore, type StoredAnswer } from '@ticketing/http';
import type { Knex } from 'knex';
import { accountRepository as accounts } from './account.repository';

export interface ChargeWalletDeps {
  db: Knex;
  idempotency: IdempotencyStore;
}

export const CHARGES_PATH = '/api/v1/wallet/charges';

/**
 * Adds money to the caller's account under an Idempotency-Key: the balance upsert, the ledger line
 * and the stored answer commit in one transaction, so the answer exists exactly when the money does.
 * A repeat of the same request gets the stored answer and adds nothing.
 */
export function createChargeWalletHandler({ db, idempotency }: ChargeWalletDeps) {
  return async function chargeWallet(userId: string, idempotencyKey: string, request: ChargeRequest): Promise<StoredAnswer> {
    const claim = await idempotency.begin(userId, idempotencyKey, requestFingerprint('POST', CHARGES_PATH, request));
    if (claim.kind === 'replay') return claim.answer;
    try {
      return await db.transaction(async (trx) => {
        const transactionId = newId();
        const balance = await accounts.credit(trx, { transactionId, userId, kind: 'CHARGE', amount: request.amount, idempotencyKey });
        const answer: StoredAnswer = { status: 201, body: { transactionId, amount: request.amount, balance } satisfies ChargeResponse };
        await claim.complete(trx, answer);
        return answer;
      });
    } catch (error) {
      // Nothing committed (or, if the commit did land, the key is DONE and release leaves it alone).
      await claim.release().catch(() => undefined);
      throw error;
    }
  };
}
