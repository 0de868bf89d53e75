/**
 * The static checks of `npm test`, run side by side (each is one process
 * on one core; together they finish sooner, on an idle or a busy machine):
 * typecheck, lint and API docs. Each one's output is printed whole when it
 * ends, so they do not interleave. Exits non-zero if any failed.
 */
import { spawn } from 'node:child_process';

const CHECKS = ['typecheck', 'lint', 'docs'];

function run(script) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', (err) => resolve({ script, ok: false, output: String(err) }));
    child.on('close', (code) => resolve({ script, ok: code === 0, output }));
  });
}

const results = await Promise.all(CHECKS.map(run));
for (const { script, ok, output } of results) {
  if (output.trim() !== '') process.stdout.write(`--- npm run ${script}\n${output}`);
  if (!ok) console.error(`npm run ${script} failed`);
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
