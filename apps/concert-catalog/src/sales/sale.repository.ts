import type { PublicSale, SaleResponse, SaleSettings } from '@ticketing/contracts';
import type { Database, Transaction } from '@ticketing/db';

export const SALES_TABLE = 'sales';

interface SaleRow {
  concert_id: string;
  revision: number;
  queue_opens_at: Date;
  sale_opens_at: Date;
  max_active: number;
  admit_per_minute: number;
  active_minutes: number;
  mode: SaleSettings['mode'];
  pow_difficulty: number;
  updated_at: Date;
}

const toSale = (row: SaleRow): SaleResponse => ({
  concertId: row.concert_id,
  revision: row.revision,
  queueOpensAt: row.queue_opens_at.toISOString(),
  saleOpensAt: row.sale_opens_at.toISOString(),
  maxActive: row.max_active,
  admitPerMinute: row.admit_per_minute,
  activeMinutes: row.active_minutes,
  mode: row.mode,
  powDifficulty: row.pow_difficulty,
  updatedAt: row.updated_at.toISOString(),
});

export interface SaleRepository {
  /**
   * Replaces the concert's sale in the caller's transaction and returns it with its new revision:
   * 1 for the first, one more than the stored one after that. One statement (insert or update under
   * the row's lock), so concurrent PUTs get distinct revisions in commit order.
   */
  save(trx: Transaction, concertId: string, settings: SaleSettings): Promise<SaleResponse>;
  find(concertId: string): Promise<SaleResponse | undefined>;
  /** What anyone may see of the concert's sale, or null when none is configured. */
  findPublic(concertId: string): Promise<PublicSale | null>;
}

export function createSaleRepository(db: Database): SaleRepository {
  return {
    async save(trx, concertId, s) {
      const columns = {
        queue_opens_at: new Date(s.queueOpensAt),
        sale_opens_at: new Date(s.saleOpensAt),
        max_active: s.maxActive,
        admit_per_minute: s.admitPerMinute,
        active_minutes: s.activeMinutes,
        mode: s.mode,
        pow_difficulty: s.powDifficulty,
      };
      const [row] = await trx(SALES_TABLE)
        .insert({ concert_id: concertId, revision: 1, ...columns })
        .onConflict('concert_id')
        .merge({ ...columns, revision: trx.raw('?? + 1', [`${SALES_TABLE}.revision`]), updated_at: trx.fn.now() })
        .returning('*');
      return toSale(row as SaleRow);
    },

    async find(concertId) {
      const row: SaleRow | undefined = await db(SALES_TABLE).where({ concert_id: concertId }).first();
      return row && toSale(row);
    },

    async findPublic(concertId) {
      const row: Pick<SaleRow, 'queue_opens_at' | 'sale_opens_at' | 'mode'> | undefined = await db(SALES_TABLE)
        .where({ concert_id: concertId })
        .first('queue_opens_at', 'sale_opens_at', 'mode');
      return row ? { queueOpensAt: row.queue_opens_at.toISOString(), saleOpensAt: row.sale_opens_at.toISOString(), mode: row.mode } : null;
    },
  };
}
