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

/** The figures in a child's result line, when they are exactly `m`'s, each with a finite value. */
function validFigures(m: Measurement, result: { figures?: unknown }): Figure[] | undefined {
  const figures = result.figures;
  if (!Array.isArray(figures) || figures.length !== m.figures.length) return undefined;
  const ok = figures.every((f: Figure, i) => f.name === m.figures[i] && Number.isFinite(f.value));
  return ok ? (figures as Figure[]) : undefined;
}

/**
 * Runs measurement number `index` of measurements.ts (`m`) in a process of
 * its own and returns its figures, or each of its figures as failed, with
 * why. Never rejects.
 */
export async function measureInChild(
  index: number,
  m: Measurement,
): Promise<(Figure | FailedFigure)[]> {
  const failed = (why: string) => m.figures.map((name) => ({ name, failed: why }));
  // The benchmark runs compiled (see run.ts): the child is the compiled measure-one.js next to this file.
  const script = fileURLToPath(new URL('./measure-one.js', import.meta.url));
  let late = false;
  let timer: NodeJS.Timeout | undefined;
  let out = '';
  let code: number | null;
  let signal: string | null;
  try {
    const child = spawn(process.execPath, [script, String(index)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    timer = setTimeout(() => {
      late = true;
      void stop(child);
    }, MEASUREMENT_LIMIT_MS);
    // 'close': the child has exited and its output is all read.
    [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  } catch (err) {
    return failed(`its process could not run: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
  if (late)
    return failed(`its process did not finish within ${MEASUREMENT_LIMIT_MS / 60_000} minutes`);
  const line = out.trim().split('\n').at(-1) ?? '';
  let result: { figures?: unknown; failed?: string };
  try {
    result = JSON.parse(line);
  } catch {
    return failed(`its process ended (exit ${code ?? signal}) without a result: ${out.trim()}`);
  }
  if (result.failed !== undefined) return failed(result.failed);
  return validFigures(m, result) ?? failed(`its process gave figures that do not fit: ${line}`);
}
