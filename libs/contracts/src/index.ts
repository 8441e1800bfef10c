export * from './envelope';
export * from './events';
export * from './topics';
export * from './errors';
export { ids, money, seatNo, isoTime } from './events/primitives';
export * from './http/identity';
export * from './http/queue';
export * from './http/catalog';
export * from './http/reservation';
