import { EVENT_TYPES, type EventType } from './events';

/** Partitions per event topic. The Kafka key is the aggregate id, so order holds per aggregate. */
export const DEFAULT_PARTITIONS = 6;

/** Each event type has a topic of the same name and a dead-letter topic beside it. */
export function topicFor(type: EventType, prefix = ''): string {
  return `${prefix}${type}`;
}

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

export interface TopicSpec {
  name: string;
  partitions: number;
}

/** Every topic the system uses, dead-letter topics included (created up front, never auto-created). */
export function allTopics(prefix = ''): TopicSpec[] {
  return EVENT_TYPES.flatMap((type) => [
    { name: topicFor(type, prefix), partitions: DEFAULT_PARTITIONS },
    { name: deadLetterTopic(topicFor(type, prefix)), partitions: 1 },
  ]);
}
