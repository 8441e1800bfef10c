import { z } from './zod';
import { ids, isoTime, money } from '../events/primitives';

/** The largest single charge unless `MAX_CHARGE` says otherwise (whole won). */
export const DEFAULT_MAX_CHARGE = 10_000_000;

/**
 * POST /api/v1/wallet/charges (+ `Idempotency-Key`). `amount` is a whole number of won,
 * 1..MAX_CHARGE; anything else (a string, a fraction, zero, too much) is 400 INVALID_AMOUNT.
 */
export const chargeRequest = z
  .object({ amount: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).openapi({ example: 50_000, description: 'whole won, 1..MAX_CHARGE (default 10,000,000)' }) })
  .strict()
  .openapi('ChargeRequest');
export type ChargeRequest = z.infer<typeof chargeRequest>;

export const chargeResponse = z
  .object({ transactionId: z.string().uuid(), amount: money, balance: money })
  .openapi('ChargeResponse');
export type ChargeResponse = z.infer<typeof chargeResponse>;

/** GET /api/v1/wallet: a user without an account yet has balance 0. */
export const walletView = z.object({ balance: money, updatedAt: isoTime.nullable() }).openapi('Wallet');
export type WalletView = z.infer<typeof walletView>;

export const LEDGER_KINDS = ['CHARGE', 'DEBIT', 'REFUND'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** One ledger line: what moved, the balance after it, and what caused it (the idempotency key of a charge, the payment of a debit or refund). */
export const ledgerEntry = z
  .object({
    transactionId: z.string().uuid(),
    kind: z.enum(LEDGER_KINDS),
    amount: money,
    balanceAfter: money,
    paymentId: ids.payment.nullable(),
    idempotencyKey: z.string().nullable(),
    createdAt: isoTime,
  })
  .openapi('LedgerEntry');
export type LedgerEntry = z.infer<typeof ledgerEntry>;

/** Query of GET /api/v1/wallet/transactions: newest first, `before` = the `nextCursor` of the previous page. */
export const ledgerQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: z.string().regex(/^[1-9][0-9]{0,15}$/, 'a cursor from nextCursor').optional(),
  })
  .strict();
export type LedgerQuery = z.infer<typeof ledgerQuery>;

export const ledgerResponse = z
  .object({ transactions: z.array(ledgerEntry), nextCursor: z.string().nullable() })
  .openapi('LedgerPage');
export type LedgerResponse = z.infer<typeof ledgerResponse>;
