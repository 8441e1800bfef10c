export { waitFor, isPortOpen, isLocalHost, sleep, type WaitOptions } from './wait';
export { REPO_ROOT, STACK_DIR, CACHE_DIR, stackPaths } from './paths';
export { defaultLog, isAlive, commandLine, readPidFile, terminate, tailFile, acquirePidLock, type Log, type PidLock } from './process';
export { ensurePostgres, canConnectPostgres, DEFAULT_POSTGRES_URL, type EnsuredServer, type EnsurePostgresOptions } from './postgres';
export { ensureRedis, canPingRedis, DEFAULT_REDIS_URL, type EnsureRedisOptions } from './redis';
export { ensureKafkaJars, KAFKA_VERSION, type KafkaJars } from './kafka-jars';
export {
  ensureKafka,
  kafkaAnswers,
  stopBrokerStartedBy,
  parseBrokers,
  LOCAL_KAFKA_BROKER,
  LOCAL_KAFKA_CLUSTER_ID,
  type EnsuredKafka,
  type EnsureKafkaOptions,
} from './kafka';
export { startPrivateKafka, type PrivateKafka } from './private-kafka';
export { provisionDatabases, type ProvisionedDatabase, type ProvisionDatabasesOptions } from './databases';
export { ensureTopics, type EnsureTopicsOptions, type EnsuredTopics } from './topics';
export { ensureTestStack, type TestStack, type TestStackEnv } from './test-stack';
export * from './servers';
export { ensureWebBuild, webBuildIsCurrent, ensureChromium, CHROMIUM, WEB_DIST } from './web-app';
