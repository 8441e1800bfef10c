export * from './database';
export * from './periodic-job';
