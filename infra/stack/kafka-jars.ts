import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { relativeToRepo, stackPaths } from './paths';
import { defaultLog, type Log } from './process';

export const KAFKA_VERSION = '3.9.1';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/** Jars that bind SLF4J to a logging backend; exactly one may be on the broker's class path. */
const SLF4J_BINDING = /^(slf4j-(reload4j|log4j12|simple|jdk14|nop|jcl)|logback-classic|log4j-slf4j2?-impl)-.*\.jar$/;

export interface KafkaJars {
  /** Folder with every jar of the broker; the class path is `<dir>/*`. */
  dir: string;
  /** True when this call ran Maven. */
  fetched: boolean;
}

function pomDigest(): string {
  return createHash('sha256').update(fs.readFileSync(stackPaths.kafkaPom)).digest('hex');
}

function checkBindings(dir: string): void {
  const bindings = fs.readdirSync(dir).filter((f) => SLF4J_BINDING.test(f));
  if (bindings.length !== 1) {
    throw new Error(
      `expected exactly one SLF4J binding in ${relativeToRepo(dir)}, found ${bindings.length}: ${bindings.join(', ') || 'none'} (fix the exclusions in infra/kafka/pom.xml)`,
    );
  }
}

function isComplete(): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(stackPaths.kafkaLibsMarker, 'utf8')) as { pom?: string; jars?: number };
    const jars = fs.readdirSync(stackPaths.kafkaLibs).filter((f) => f.endsWith('.jar')).length;
    return marker.pom === pomDigest() && jars > 0 && jars === marker.jars;
  } catch {
    return false;
  }
}

function runMaven(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    // stdin closed: Maven in batch mode never asks, and CI has no terminal.
    const child = spawn('mvn', args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', (err) =>
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error('Maven (mvn) is needed once to fetch the Kafka broker from Maven Central; install it (Debian: apt-get install maven)')
          : err,
      ),
    );
    child.once('close', (code) => resolve(code ?? 1));
  });
}

/**
 * Resolves the Kafka broker's jars into .cache/kafka/libs with Maven, once. A marker written
 * after a complete copy (bound to the pom's content) makes an interrupted download start over.
 */
export async function ensureKafkaJars(options: { log?: Log } = {}): Promise<KafkaJars> {
  const log = options.log ?? defaultLog;
  const dir = stackPaths.kafkaLibs;
  if (isComplete()) {
    checkBindings(dir);
    return { dir, fetched: false };
  }

  fs.rmSync(stackPaths.kafkaLibsMarker, { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`downloading Kafka ${KAFKA_VERSION} (first run only) with Maven into ${relativeToRepo(dir)} ...`);
  const started = Date.now();
  const code = await runMaven([
    '-B',
    '-f',
    stackPaths.kafkaPom,
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    `-DoutputDirectory=${dir}`,
    '-DincludeScope=runtime',
  ]);
  if (code !== 0) throw new Error(`Maven could not resolve the Kafka jars (exit ${code}); see its output above`);
  checkBindings(dir);
  const jars = fs.readdirSync(dir).filter((f) => f.endsWith('.jar')).length;
  fs.writeFileSync(
    stackPaths.kafkaLibsMarker,
    `${JSON.stringify({ kafka: KAFKA_VERSION, pom: pomDigest(), jars, at: new Date().toISOString() }, null, 2)}\n`,
  );
  log(`Kafka ${KAFKA_VERSION}: ${jars} jars ready in ${Math.round((Date.now() - started) / 1000)} s`);
  return { dir, fetched: true };
}
