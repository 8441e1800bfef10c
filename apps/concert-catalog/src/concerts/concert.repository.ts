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
  /** Concerts oldest first, `limit` of them after `after` (keyset: the exact `created_at` text and id of the last one seen). */
  list(page: { limit: number; after?: [string, string] }): Promise<Array<ConcertSummary & { key: [string, string] }>>;
  find(concertId: string): Promise<ConcertSummary | undefined>;
  /** Whether the concert exists; inside `trx` it also keeps the row from being deleted until commit. */
  exists(concertId: string, trx?: Transaction): Promise<boolean>;
}

export function createConcertRepository(db: Database): ConcertRepository {
  return {
    async insert(concert) {
      await db(CONCERTS_TABLE).insert({ ...concert, description: concert.description ?? null });
    },
    async list({ limit, after }) {
      const rows: Array<ConcertRow & { created_at_key: string }> = await db(CONCERTS_TABLE)
        .select('id', 'title', 'artist', 'venue', 'description', db.raw('created_at::text as created_at_key'))
        .modify((q) => {
          if (after) q.whereRaw('(created_at, id) > (?::timestamptz, ?::uuid)', after);
        })
        .orderBy([{ column: 'created_at' }, { column: 'id' }])
        .limit(limit);
      return rows.map((row) => ({ ...toSummary(row), key: [row.created_at_key, row.id] as [string, string] }));
    },
    async find(concertId) {
      const row: ConcertRow | undefined = await db(CONCERTS_TABLE).where({ id: concertId }).first('id', 'title', 'artist', 'venue', 'description');
      return row && toSummary(row);
    },
    async exists(concertId, trx) {
      const query = (trx ?? db)(CONCERTS_TABLE).select('id').where({ id: concertId }).first();
      return Boolean(await (trx ? query.forShare() : query));
    },
  };
}
