/**
 * `npm run bench:chart [results.json]`: draws the chart of a results file again (default
 * bench/results/latest.json) and writes it beside the file, same name with .svg.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chartSpec, type BenchRun } from './lib/chart';
import { renderSvg } from './lib/render-chart';

async function main() {
  const file = path.resolve(process.argv[2] ?? path.join(__dirname, 'results', 'latest.json'));
  const run = JSON.parse(readFileSync(file, 'utf8')) as BenchRun;
  const out = file.replace(/\.json$/, '') + '.svg';
  writeFileSync(out, await renderSvg(chartSpec(run)));
  console.log(`chart written to ${path.relative(process.cwd(), out)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
