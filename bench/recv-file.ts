/**
 * `recv.file.1GiB.peakRss`: peak RSS of a separate client process
 * (recv-child.ts) that receives a 1 GiB payload to a file, sent through
 * the simulator. The child is killed on every path that does not see it
 * exit, and its folder removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { send } from '../src/msg/index.ts';
import { EXIT_GRACE_MS, transferDeadlineMs } from './deadline.ts';
import type { Measurement } from './figures.ts';
import { generated, MiB, mib } from './raw.ts';
import { APP, withSim } from './with-sim.ts';

const TOTAL = 1024 * MiB;

/** Stops `child` unless it has exited (or never started): SIGTERM, then SIGKILL after a grace period. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts the receiving child: `ready` resolves once it has subscribed,
 * `peakRss` (MiB) once it has exited after receiving (it rejects otherwise).
 */
function startChild(subif: string, file: string) {
  // The benchmark runs compiled (see run.ts), so the child is the compiled recv-child.js next to this file.
  const script = fileURLToPath(new URL('./recv-child.js', import.meta.url));
  const child = spawn(process.execPath, [script, subif, APP.name, APP.pass, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('subscribed')) resolve();
    });
  });
  const peakRss = once(child, 'exit').then(([code]) => {
    const m = /peakRssMiB=(\d+(\.\d+)?)/.exec(out);
    if (code !== 0 || !m) throw new Error(`the receiving child failed (exit ${code}): ${out}`);
    return Number(m[1]);
  });
  return { child, ready, peakRss };
}

/** Peak RSS (MiB) of a child process receiving `total` bytes to `file`. */
function peakRss(total: number, file: string): Promise<number> {
  let step = 'the receiving child to subscribe';
  const what = () => `${step} (${mib(total)} MiB to a file)`;
  const run = { deadlineMs: transferDeadlineMs(total), what, arrival: true };
  return withSim(run, async (sim, { connect, defer }) => {
    const receiver = startChild(sim.receiver.subif, file);
    defer(() => stop(receiver.child));
    await Promise.race([receiver.ready, receiver.peakRss]);
    step = 'the sender node to acknowledge the payload';
    const conn = await connect(sim.sender.msgif);
    await send(conn, { ch: 'bench', payload: { stream: generated(total), length: total } });
    step = 'the payload at the receiving child';
    return await receiver.peakRss;
  });
}

export const recvFileMeasurement: Measurement = {
  figures: ['recv.file.1GiB.peakRss'],
  async measure() {
    const dir = await mkdtemp(join(tmpdir(), 'ddmw-bench-'));
    try {
      const value = await peakRss(TOTAL, join(dir, 'received.bin'));
      return [{ name: 'recv.file.1GiB.peakRss', unit: 'MiB', value, max: 128 }];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
