/** Child processes of the benchmark: each measurement runs in one, and the file-receive figure starts one. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { EXIT_GRACE_MS } from './deadline.ts';
import type { FailedFigure, Figure, Measurement } from './figures.ts';

/** Stops `child` unless it has exited (or never started): SIGTERM, then SIGKILL after a grace period. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * The longest a measurement's process may run. Each transfer and round of
 * a measurement has its own deadline (deadline.ts), well within this; it
 * only stops a process that is stuck in a way they do not catch.
 */
const MEASUREMENT_LIMIT_MS = 15 * 60_000;

/**
 * Runs measurement number `index` of measurements.ts (`m`) in a process of
 * its own and returns its figures, or each of its figures as failed, with
 * why.
 */
export async function measureInChild(
  index: number,
  m: Measurement,
): Promise<(Figure | FailedFigure)[]> {
  // The benchmark runs compiled (see run.ts): the child is the compiled measure-one.js next to this file.
  const script = fileURLToPath(new URL('./measure-one.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(index)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    void stop(child);
  }, MEASUREMENT_LIMIT_MS);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  const failed = (why: string) => m.figures.map((name) => ({ name, failed: why }));
  if (late)
    return failed(`its process did not finish within ${MEASUREMENT_LIMIT_MS / 60_000} minutes`);
  const line = out.trim().split('\n').at(-1) ?? '';
  let result: { figures?: Figure[]; failed?: string };
  try {
    result = JSON.parse(line);
  } catch {
    return failed(`its process ended (exit ${code ?? signal}) without a result: ${out.trim()}`);
  }
  return result.figures ?? failed(result.failed ?? 'no result');
}
