export * from './combine-handlers';
export * from './service';
