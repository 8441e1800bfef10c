export * from './app';
export * from './health';
export * from './internal-auth';
export * from './middleware';
export * from './problem';
export * from './server';
export * from './idempotency';
export * from './paging';
