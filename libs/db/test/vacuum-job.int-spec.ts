import { createTestDatabase, waitFor, type TestDatabase } from '@ticketing/testing';
import { vacuumWhereAutovacuumWould } from '../src';

describe('vacuum where autovacuum is off (real PostgreSQL)', () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase('vacuum');
    const { db } = database;
    await db.raw(`create table churned (id int primary key, n int not null)`);
    await db.raw(`create table quiet (id int primary key, n int not null)`);
    await db.raw(`create table appended (id int primary key)`);
  });
  afterEach(() => database.drop());

  /** Runs `sql` and has its statistics reported now rather than when the connection next idles long enough. */
  const changeAndReport = (sql: string) =>
    database.db.transaction(async (trx) => {
      await trx.raw(sql);
      await trx.raw('select pg_stat_force_next_flush()');
    });

  const stats = async (table: string) =>
    (await database.db.raw(`select n_dead_tup, n_ins_since_vacuum, n_mod_since_analyze, vacuum_count, analyze_count from pg_stat_user_tables where relname = ?`, [table])).rows[0];

  it('vacuums the tables with more dead or newly inserted rows than autovacuum allows, and leaves the others alone', async () => {
    const { db } = database;
    const { rows } = await db.raw(`select current_setting('autovacuum') as autovacuum`);
    if (rows[0].autovacuum !== 'off') {
      expect(await vacuumWhereAutovacuumWould(db)).toEqual({ autovacuumOff: false, vacuumed: [], analyzed: [] });
      return;
    }
    await changeAndReport(`insert into churned select g, 0 from generate_series(1, 1000) g`);
    await changeAndReport(`insert into quiet select g, 0 from generate_series(1, 1000) g`);
    await changeAndReport(`insert into appended select g from generate_series(1, 500) g`);
    await waitFor(async () => Number((await stats('appended')).n_ins_since_vacuum) === 500 || undefined, { label: 'insert statistics' });
    // New rows, not yet enough to vacuum for: their statistics only.
    const first = await vacuumWhereAutovacuumWould(db);
    expect(first.vacuumed).toEqual([]);
    expect(first.analyzed.sort()).toEqual(['public.appended', 'public.churned', 'public.quiet']);

    await changeAndReport(`update churned set n = n + 1`); // 1,000 dead versions: over 50 + 20% of 1,000
    await changeAndReport(`update churned set n = n + 1`);
    await changeAndReport(`update quiet set n = n + 1 where id <= 20`); // 20: under the threshold
    await changeAndReport(`insert into appended select g from generate_series(501, 2000) g`); // 1,500 new: over 1,000 + 20% of 500
    await waitFor(async () => Number((await stats('churned')).n_dead_tup) >= 2000 || undefined, { label: 'dead row statistics' });

    const round = await vacuumWhereAutovacuumWould(db);
    expect(round.autovacuumOff).toBe(true);
    expect(round.vacuumed.sort()).toEqual(['public.appended', 'public.churned']);
    expect(round.analyzed).toEqual([]);
    expect(Number((await stats('churned')).n_dead_tup)).toBe(0);
    expect(Number((await stats('churned')).vacuum_count)).toBe(1);
    expect(Number((await stats('quiet')).vacuum_count)).toBe(0);
  });
});
