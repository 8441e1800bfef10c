import * as path from 'node:path';

/** The repository root (this file lives in infra/stack/). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Runtime state of the local stack (pid files, broker data and logs); ignored by git. */
export const STACK_DIR = path.join(REPO_ROOT, '.stack');

/** Downloaded artefacts kept between runs (the Kafka jars); ignored by git. */
export const CACHE_DIR = path.join(REPO_ROOT, '.cache');

export const stackPaths = {
  startLock: path.join(STACK_DIR, 'start.pid'),
  services: path.join(STACK_DIR, 'services.json'),
  jestResults: path.join(STACK_DIR, 'jest-results.json'),
  kafkaDir: path.join(STACK_DIR, 'kafka'),
  kafkaData: path.join(STACK_DIR, 'kafka', 'data'),
  kafkaLogs: path.join(STACK_DIR, 'kafka', 'logs'),
  kafkaPid: path.join(STACK_DIR, 'kafka', 'kafka.pid'),
  kafkaStartLock: path.join(STACK_DIR, 'kafka', 'starting.pid'),
  kafkaProperties: path.join(STACK_DIR, 'kafka', 'server.properties'),
  kafkaStdout: path.join(STACK_DIR, 'kafka', 'logs', 'stdout.log'),
  kafkaServerLog: path.join(STACK_DIR, 'kafka', 'logs', 'server.log'),
  kafkaLibs: path.join(CACHE_DIR, 'kafka', 'libs'),
  kafkaLibsMarker: path.join(CACHE_DIR, 'kafka', 'libs.complete'),
  kafkaPom: path.join(REPO_ROOT, 'infra', 'kafka', 'pom.xml'),
  kafkaPropertiesTemplate: path.join(REPO_ROOT, 'infra', 'kafka', 'server.properties'),
  kafkaLog4j: path.join(REPO_ROOT, 'infra', 'kafka', 'log4j.properties'),
} as const;

/** A path relative to the repository root, for messages (never print machine paths in docs). */
export function relativeToRepo(p: string): string {
  return path.relative(REPO_ROOT, p) || '.';
}
