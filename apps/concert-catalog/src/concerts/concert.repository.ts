import type { ConcertSummary } from '@ticketing/contracts';
import type { Database, Transaction } from '@ticketing/db';

export const CONCERTS_TABLE = 'concerts';

export interface NewConcert {
  id: string;
  title: string;
  artist: string;
  venue: string;
  description?: string;
}

interface ConcertRow {
  id: string;
  title: string;
  artist: string;
  venue: string;
  description: string | null;
}

const toSummary = (row: ConcertRow): ConcertSummary => ({
  concertId: row.id,
  title: row.title,
  artist: row.artist,
  venue: row.venue,
  description: row.description,
});

export interface ConcertRepository {
  insert(concert: NewConcert): Promise<void>;
  /** Every concert, oldest first. */
  list(): Promise<ConcertSummary[]>;
  /** Whether the concert exists; inside `trx` it also keeps the row from being deleted until commit. */
  exists(concertId: string, trx?: Transaction): Promise<boolean>;
}

export function createConcertRepository(db: Database): ConcertRepository {
  return {
    async insert(concert) {
      await db(CONCERTS_TABLE).insert({ ...concert, description: concert.description ?? null });
    },
    async list() {
      const rows: ConcertRow[] = await db(CONCERTS_TABLE).select('id', 'title', 'artist', 'venue', 'description').orderBy([{ column: 'created_at' }, { column: 'id' }]);
      return rows.map(toSummary);
    },
    async exists(concertId, trx) {
      const query = (trx ?? db)(CONCERTS_TABLE).select('id').where({ id: concertId }).first();
      return Boolean(await (trx ? query.forShare() : query));
    },
  };
}
