export * from './processes';
export * from './servers';
export * from './wait';
export * from './redis-server';
export * from './slow-client';
export * from './service-env';
