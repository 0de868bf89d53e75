/**
 * How the demo process ends, whatever happens: its temporary folder is
 * removed on every exit, SIGINT, SIGTERM and unexpected errors stop the run
 * so that it cleans up, cleanup steps have a time limit, and the process
 * exits even if something still holds it open.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { duration, errorText } from './run.ts';

/** Exit codes of the signals the demo handles: 128 + the signal's number. */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Makes a new `ddmw-demo-*` folder in `parent`, removed when the process
 * exits, however it exits (except SIGKILL): normally, by `process.exit`,
 * or after an uncaught error.
 */
export async function makeTempDir(parent: string): Promise<string> {
  const dir = await mkdtemp(join(parent, 'ddmw-demo-'));
  process.once('exit', () => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      console.error(`could not remove the temporary folder ${dir}: ${errorText(err)}`);
      process.exitCode = 1; // still honoured while 'exit' listeners run
    }
  });
  return dir;
}

/**
 * Hands SIGINT, SIGTERM and uncaught errors to `stop`, which ends the run
 * (the demo then cleans up and exits). A second signal exits at once; the
 * temporary folder is still removed.
 */
export function stopOnSignalsAndCrashes(stop: (why: string, exitCode: number) => void): void {
  let signalled = false;
  for (const [name, code] of Object.entries(SIGNAL_EXIT_CODES)) {
    process.on(name, () => {
      if (signalled) process.exit(code);
      signalled = true;
      console.error(`\n${name}: stopping and cleaning up (${name} again to exit at once)`);
      stop(`interrupted by ${name}`, code);
    });
  }
  const crash = (err: unknown) => {
    console.error(`unexpected error: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1; // in case the run has already ended
    stop(`unexpected error: ${errorText(err)}`, 1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

/** Cleanup steps, run last in first out, each within a time limit so that none can hang the demo. */
export class Cleanup {
  #steps: { what: string; run: () => Promise<unknown> }[] = [];

  /** Adds a step; `what` names it in problem reports ("closing the simulator"). */
  defer(what: string, run: () => Promise<unknown>): void {
    this.#steps.push({ what, run });
  }

  /** Runs every step once; returns the problems: steps that failed or took longer than `limitMs`. */
  async run(limitMs: number): Promise<string[]> {
    const problems: string[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<string>((resolve) => {
        timer = setTimeout(
          () => resolve(`${step.what} did not finish within ${duration(limitMs)}`),
          limitMs,
        );
      });
      const problem = await Promise.race([
        step.run().then(
          () => undefined,
          (err: unknown) => `${step.what} failed: ${errorText(err)}`,
        ),
        late,
      ]);
      clearTimeout(timer);
      if (problem !== undefined) problems.push(problem);
    }
    return problems;
  }
}

/**
 * Sets the exit code and lets the process end by itself (so that output is
 * flushed); if something still holds it open after `graceMs`, says so and exits.
 */
export function exitWhenDone(code: number, graceMs: number): void {
  process.exitCode = code;
  setTimeout(() => {
    console.error(`still running ${duration(graceMs)} after cleanup: exiting anyway`);
    process.exit(code);
  }, graceMs).unref();
}
