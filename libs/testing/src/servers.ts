import { loadConfig, withDatabase } from '@ticketing/config';
import { allTopics } from '@ticketing/contracts';
import { createDatabase, type Database } from '@ticketing/db';
import { createTopics } from '@ticketing/messaging';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { z } from 'zod';

/** Where the real servers are; the jest global setup fills these in. */
export function testServers() {
  return loadConfig(
    z.object({
      DATABASE_URL: z.string().url(),
      REDIS_URL: z.string().url(),
      KAFKA_BROKERS: z.string().transform((s) => s.split(',')),
    }),
  );
}

/** A short random name for databases, topics, groups and key prefixes, so tests never collide. */
export function uniqueName(label: string): string {
  return `${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  db: Database;
  drop(): Promise<void>;
}

/** Creates a database of its own on the test server; `drop()` removes it (connections included). */
export async function createTestDatabase(label: string, poolMax = 10): Promise<TestDatabase> {
  const server = testServers().DATABASE_URL;
  const name = uniqueName(`t_${label}`).slice(0, 63);
  const admin = createDatabase({ url: server, poolMax: 1 });
  await admin.raw(`create database "${name}"`);
  await admin.destroy();
  const url = withDatabase(server, name);
  const db = createDatabase({ url, poolMax, applicationName: `test-${label}` });
  return {
    name,
    url,
    db,
    async drop() {
      await db.destroy();
      const a = createDatabase({ url: server, poolMax: 1 });
      await a.raw(`drop database if exists "${name}" with (force)`);
      await a.destroy();
    },
  };
}

/** A kafkajs client of the test servers' broker (or of `brokers`, e.g. a test's private broker). */
export function testKafka(clientId = uniqueName('test'), brokers: string[] = testServers().KAFKA_BROKERS): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

/** Creates every event topic (and its .dlq) under a prefix of the test's own (on `brokers`, default the test servers'). */
export async function createTestTopics(prefix: string, brokers?: string[]): Promise<void> {
  const admin = testKafka(undefined, brokers).admin();
  await admin.connect();
  try {
    await createTopics(admin, allTopics(prefix));
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTestTopics(prefix: string, brokers?: string[]): Promise<void> {
  const admin = testKafka(undefined, brokers).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: allTopics(prefix).map((t) => t.name) });
  } catch {
    // best effort: topics of a finished test are harmless
  } finally {
    await admin.disconnect();
  }
}

/** Reads `topic` from the beginning with a fresh group until `count` messages have arrived. */
export async function readTopic(topic: string, count: number, timeoutMs = 20_000): Promise<KafkaMessage[]> {
  const reader = testKafka().consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await reader.connect();
  try {
    await reader.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${messages.length}/${count} messages on ${topic}`)), timeoutMs);
      reader
        .run({
          eachMessage: async ({ message }) => {
            messages.push(message);
            if (messages.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await reader.disconnect();
  }
  return messages;
}
