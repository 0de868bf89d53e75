/**
 * `npm run mutate [-- area...]`: runs Stryker once per area (all areas by
 * default, see scripts/mutation-areas.mjs), then prints the mutation score
 * of each area run and of all of them, and writes their surviving mutants
 * to reports/mutation/survivors.txt. The scores of other areas' reports,
 * left by earlier runs, follow, marked so and not in the total. Reports:
 * reports/mutation/<area>.html.
 * Not part of `npm test` or CI: a first run takes about an hour on 2 cores;
 * reruns are incremental.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { AREAS } from './mutation-areas.mjs';

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const asked = [...new Set(process.argv.slice(2))]; // an area named twice runs once
const unknown = asked.filter((area) => !Object.hasOwn(AREAS, area));
if (unknown.length > 0) {
  console.error(`Unknown area ${unknown.join(', ')}; areas: ${Object.keys(AREAS).join(', ')}`);
  process.exit(2);
}
const areas = asked.length > 0 ? asked : Object.keys(AREAS);

for (const area of areas) {
  console.log(`\n=== mutation testing: ${area} ===`);
  const run = spawnSync('npx', ['stryker', 'run'], {
    stdio: 'inherit',
    env: { ...process.env, MUTATE_AREA: area },
  });
  if (run.status !== 0) {
    console.error(`Stryker failed for area ${area} (exit ${run.status ?? run.signal})`);
    process.exit(1);
  }
}

/** Counts one area's report and collects its survivors as `file:line mutator -> replacement`. */
function tally(area) {
  const report = JSON.parse(readFileSync(`reports/mutation/${area}.json`, 'utf8'));
  const count = { detected: 0, undetected: 0, survivors: [] };
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const mutant of mutants) {
      if (DETECTED.has(mutant.status)) count.detected += 1;
      if (!UNDETECTED.has(mutant.status)) continue;
      count.undetected += 1;
      const where = `${file}:${mutant.location.start.line}`;
      const change = (mutant.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80);
      count.survivors.push(`${where} ${mutant.mutatorName} -> ${change} (${mutant.status})`);
    }
  }
  return count;
}

const score = ({ detected, undetected }) =>
  ((100 * detected) / Math.max(1, detected + undetected)).toFixed(1);
const row = (name, count, note = '') =>
  `${name.padEnd(9)} ${String(count.detected).padStart(8)}  ${String(count.undetected).padStart(10)}  ${score(count)}%${note}`;
const total = { detected: 0, undetected: 0 };
const survivors = [];
console.log('\narea      detected  undetected  score');
for (const area of areas) {
  const count = tally(area);
  total.detected += count.detected;
  total.undetected += count.undetected;
  survivors.push(...count.survivors);
  console.log(row(area, count));
}
console.log(row('all', total));
const earlier = Object.keys(AREAS).filter(
  (area) => !areas.includes(area) && existsSync(`reports/mutation/${area}.json`),
);
for (const area of earlier) {
  console.log(row(area, tally(area), '  (from an earlier run, not in the total)'));
}
writeFileSync('reports/mutation/survivors.txt', `${survivors.sort().join('\n')}\n`);
console.log('Survivors: reports/mutation/survivors.txt');
