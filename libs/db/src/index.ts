export * from './database';
export * from './ids';
export * from './periodic-job';
export * from './vacuum-job';
