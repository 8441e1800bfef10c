import type { ChargeRequest, ChargeResponse } from '@ticketing/contracts';
import { newId } from '@ticketing/db';
import { ProblemError, requestFingerprint, type IdempotencyStore, type StoredAnswer } from '@ticketing/http';
import type { Knex } from 'knex';
import { accountRepository as accounts, isDuplicateCharge, ledgerRepository as ledger } from './account.repository';

export interface ChargeWalletDeps {
  db: Knex;
  idempotency: IdempotencyStore;
}

export const CHARGES_PATH = '/api/v1/wallet/charges';

/**
 * Adds money to the caller's account under an Idempotency-Key: the balance upsert, the ledger line
 * and the stored answer commit in one transaction, so the answer exists exactly when the money does.
 * A repeat of the same request gets the stored answer and adds nothing. A first attempt stalled for
 * so long that a retry took its key over fails at `complete` (409, ask again) and adds nothing; and
 * should two lines for one key ever be tried, the ledger's unique key refuses the second, which then
 * answers with the charge already made.
 */
export function createChargeWalletHandler({ db, idempotency }: ChargeWalletDeps) {
  /** The charge this key already made, as its first answer said it (the key store's answer may be purged). */
  async function chargedBefore(userId: string, idempotencyKey: string, request: ChargeRequest): Promise<StoredAnswer> {
    const line = await ledger.chargeByKey(db, userId, idempotencyKey);
    if (!line) throw new Error(`the ledger refused a second charge for key ${idempotencyKey} but holds none`);
    if (line.amount !== request.amount) {
      throw new ProblemError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key for a new request');
    }
    return { status: 201, body: { transactionId: line.transactionId, amount: line.amount, balance: line.balanceAfter } satisfies ChargeResponse };
  }

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
      if (isDuplicateCharge(error)) return chargedBefore(userId, idempotencyKey, request);
      throw error;
    }
  };
}
