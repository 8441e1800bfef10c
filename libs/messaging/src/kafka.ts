import type { Logger } from '@ticketing/telemetry';
import { Kafka, logLevel, type LogEntry } from 'kafkajs';

const levelName: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose own logs go through the service's JSON logger (warnings and up). */
export function createKafka({ brokers, clientId, logger }: { brokers: string[]; clientId: string; logger: Logger }): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3_000,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        log[levelName[level] ?? 'info'](rest, message);
      },
  });
}

/** A readiness check that asks the cluster for its metadata over one lazily connected admin client. */
export function kafkaReadiness(kafka: Kafka): { check(): Promise<void>; close(): Promise<void> } {
  let admin: ReturnType<Kafka['admin']> | undefined;
  return {
    async check() {
      if (!admin) {
        const candidate = kafka.admin();
        await candidate.connect();
        admin = candidate;
      }
      try {
        await admin.describeCluster();
      } catch (error) {
        const stale = admin;
        admin = undefined;
        await stale.disconnect().catch(() => undefined);
        throw error;
      }
    },
    async close() {
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  };
}
