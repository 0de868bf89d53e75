/** Stopping a child process of the benchmark (the file-receive figure starts one). */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { EXIT_GRACE_MS } from './deadline.ts';

/** Stops `child` unless it has exited (or never started): SIGTERM, then SIGKILL after a grace period. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
