/**
 * Creates what the services expect to exist: each service's database with its migrations
 * applied, and every Kafka topic (dead-letter topics included). Idempotent. Starts no server:
 * it waits (up to PROVISION_WAIT_MS, default 60 s) for POSTGRES_URL and KAFKA_BROKERS to answer.
 * Used by docker compose (one-shot `provision` service) and by hand: `node --import tsx infra/scripts/provision.ts`.
 */
import { provisionDatabases } from '../stack/databases';
import { kafkaAnswers, parseBrokers } from '../stack/kafka';
import { canConnectPostgres, DEFAULT_POSTGRES_URL } from '../stack/postgres';
import { redactUrl } from '../stack/process';
import { ensureTopics } from '../stack/topics';
import { waitFor } from '../stack/wait';

const say = (line: string) => console.log(`[provision] ${line}`);

async function main(): Promise<void> {
  const postgresUrl = process.env.POSTGRES_URL ?? DEFAULT_POSTGRES_URL;
  const brokers = parseBrokers(process.env.KAFKA_BROKERS);
  const timeoutMs = Number(process.env.PROVISION_WAIT_MS ?? 60_000);

  say(`PostgreSQL ${redactUrl(postgresUrl)}, Kafka ${brokers.join(',')}`);
  await waitFor(() => canConnectPostgres(postgresUrl), { timeoutMs, label: `PostgreSQL at ${redactUrl(postgresUrl)}`, intervalMs: 1000 });
  await waitFor(() => kafkaAnswers(brokers), { timeoutMs, label: `Kafka at ${brokers.join(',')}`, intervalMs: 1000 });

  const databases = await provisionDatabases({ postgresUrl, log: say });
  const topics = await ensureTopics({ brokers, log: say });

  const created = databases.filter((d) => d.created).length;
  const migrations = databases.reduce((n, d) => n + d.migrations.length, 0);
  say(`done: ${databases.length} databases (${created} created, ${migrations} migrations applied), ${topics.created.length + topics.existing.length} topics (${topics.created.length} created)`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`[provision] failed: ${err.message}`);
    process.exit(1);
  },
);
