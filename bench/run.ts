/**
 * `npm run bench [scenario ...]`: runs the scenarios in bench/scenarios against the running stack
 * (`npm start`), prints one table and writes the same as JSON under bench/results/.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatTable, type Scenario, type ScenarioResult } from './lib/report';

async function main() {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const dir = path.join(__dirname, 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.scenario.ts')).sort();
  const scenarios: Scenario[] = [];
  for (const file of files) {
    const { scenario } = (await import(path.join(dir, file))) as { scenario: Scenario };
    if (wanted.length === 0 || wanted.includes(scenario.name)) scenarios.push(scenario);
  }
  if (scenarios.length === 0) throw new Error(`no scenario matches ${wanted.join(', ')}; have ${files.join(', ')}`);

  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    console.log(`▶ ${s.name}: ${s.description}`);
    const outcome = await s.run();
    results.push(...(Array.isArray(outcome) ? outcome : [outcome]));
  }
  console.log(`\n${formatTable(results)}`);
  const resultsDir = path.join(__dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  writeFileSync(file, `${JSON.stringify({ machine, results }, null, 2)}\n`);
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
  // A benchmark reports; it does not fail on a timing. It fails only when a correctness check does.
  const broken = results.flatMap((r) => r.checks.filter((c) => !c.pass).map((c) => `${r.scenario}: ${c.name}`));
  if (broken.length) {
    console.error(`correctness checks failed: ${broken.join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
