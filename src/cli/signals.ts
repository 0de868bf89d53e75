/**
 * Ending a long-running command on SIGINT or SIGTERM: the work is told to
 * stop (it closes its connection, and what was half written is removed),
 * the error that causes is expected, and the exit code is a shell's
 * (130 / 143). A second signal has Node's default effect.
 */

/** Exit codes after a signal, as a shell reports them (128 + the signal's number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs `work`; on the first SIGINT or SIGTERM, calls `stop` (once). A
 * failure of `work` after a signal is the stop, not an error: the command
 * then ends quietly with the signal's exit code. `cleanup` runs either way.
 */
export async function untilSignal(
  stop: () => void,
  work: () => Promise<void>,
  cleanup: () => Promise<void>,
): Promise<void> {
  let signal: keyof typeof SIGNAL_EXIT | undefined;
  const on = (s: keyof typeof SIGNAL_EXIT) => {
    signal ??= s;
    stop();
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  try {
    await work();
  } catch (err) {
    if (!signal) throw err;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await cleanup();
  }
  if (signal) process.exitCode = SIGNAL_EXIT[signal];
}
