import type { SaleResponse, SaleSettings } from '@ticketing/contracts';
import type { Database } from '@ticketing/db';
import { ProblemError } from '@ticketing/http';
import type { NewEvent, OutboxWriter } from '@ticketing/messaging';
import type { ConcertRepository } from '../concerts/concert.repository';
import { saleProblems } from './sale-rules';
import type { SaleRepository } from './sale.repository';

export interface ConfigureSaleDeps {
  db: Database;
  concerts: ConcertRepository;
  sales: SaleRepository;
  outbox: OutboxWriter;
}

export type ConfigureSaleHandler = (concertId: string, settings: SaleSettings) => Promise<SaleResponse>;

/**
 * Sets (or replaces) a concert's sale: the sale row with its next revision and `sale.configured`
 * carrying the whole sale commit in one transaction, or nothing does. Keyed by concert, so the
 * gateway reads a concert's changes in order; it keeps the highest revision anyway.
 */
export function createConfigureSaleHandler({ db, concerts, sales, outbox }: ConfigureSaleDeps): ConfigureSaleHandler {
  return async (concertId, settings) => {
    const problems = saleProblems(settings);
    if (problems.length) {
      throw new ProblemError('VALIDATION_FAILED', problems.map((p) => `${p.field}: ${p.message}`).join('; '), { errors: problems });
    }
    return db.transaction(async (trx) => {
      if (!(await concerts.exists(concertId, trx))) throw new ProblemError('NOT_FOUND', `no concert ${concertId}`);
      const sale = await sales.save(trx, concertId, settings);
      const { updatedAt: _updatedAt, ...payload } = sale;
      await outbox.append(trx, { type: 'sale.configured', key: concertId, payload } satisfies NewEvent<'sale.configured'>);
      return sale;
    });
  };
}
