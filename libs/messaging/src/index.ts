export * from './codec';
export * from './errors';
export * from './event-consumer';
export * from './kafka';
export * from './outbox';
export * from './outbox-relay';
export * from './schema';
export * from './settings';
