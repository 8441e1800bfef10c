import { ledgerQuery } from '@ticketing/contracts';
import { parseOrThrow, ProblemError, readIdempotencyKey, type IdempotencyStore } from '@ticketing/http';
import type { Request } from 'express';
import { Router } from 'express';
import type { Knex } from 'knex';
import { CHARGES_PATH, createChargeWalletHandler } from './charge-wallet.handler';
import { readChargeRequest } from './charge-request';
import { createGetWalletHandler } from './get-wallet.handler';
import { createListTransactionsHandler } from './list-transactions.handler';

export interface WalletRoutesDeps {
  db: Knex;
  idempotency: IdempotencyStore;
  /** The largest single charge (MAX_CHARGE). */
  maxCharge: number;
}

/** The caller, as the gateway signed it: the only source of the user id. */
function callerId(req: Request): string {
  const userId = req.caller?.userId;
  if (!userId) throw new ProblemError('UNAUTHENTICATED', 'this route needs a signed-in user');
  return userId;
}

/** `POST /api/v1/wallet/charges`, `GET /api/v1/wallet`, `GET /api/v1/wallet/transactions`: always the caller's own wallet. */
export function createWalletRouter(deps: WalletRoutesDeps): Router {
  const chargeWallet = createChargeWalletHandler(deps);
  const getWallet = createGetWalletHandler(deps);
  const listTransactions = createListTransactionsHandler(deps);
  const router = Router();

  router.post(CHARGES_PATH, async (req, res) => {
    const userId = callerId(req);
    const idempotencyKey = readIdempotencyKey(req);
    const answer = await chargeWallet(userId, idempotencyKey, readChargeRequest(req.body, deps.maxCharge));
    res.status(answer.status).json(answer.body);
  });
  router.get('/api/v1/wallet', async (req, res) => {
    res.json(await getWallet(callerId(req)));
  });
  router.get('/api/v1/wallet/transactions', async (req, res) => {
    const userId = callerId(req);
    res.json(await listTransactions(userId, parseOrThrow(ledgerQuery, req.query, 'query')));
  });
  return router;
}
