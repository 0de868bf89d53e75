/**
 * Message figures against the simulator, each beside a raw-socket baseline
 * measured in the same run:
 * - `msg.send.256MiB`: `send` of a 256 MiB payload to the sender node, vs a
 *   raw socket write of the same bytes to a server that discards them;
 * - `msg.e2e.64MiB`: send -> one-way link -> receiver node -> subscriber,
 *   vs the same raw socket throughput;
 * - `recv.file.1GiB.peakRss`: peak RSS of a separate client process that
 *   receives a 1 GiB payload to a file.
 * Throughputs are the best of three runs (each against a fresh simulator),
 * alternating with three of their baseline: one long transfer is easily
 * slowed by the machine's other work (on a small VM, page cache writeback
 * for one).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/conn/index.ts';
import { recv, send, subscribe } from '../src/msg/index.ts';
import { type Simulator, startSimulator } from '../src/sim/index.ts';
import { bestOfPaired, type Figure, figure } from './figures.ts';

const MiB = 1024 * 1024;
/** Runs per throughput figure and per baseline (the best counts; see `bestOfPaired`). */
const RUNS = 3;
const CHUNK = Buffer.alloc(MiB, 0x5a);
const APP = { name: 'bench', pass: 'bench-pass' };

/** `total` bytes as a stream of 1 MiB chunks, without holding them all. */
function generated(total: number): Readable {
  let left = total;
  return new Readable({
    read() {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      this.push(n > 0 ? CHUNK.subarray(0, n) : null);
    },
  });
}

const mibPerSec = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

/** Raw baseline: write `total` bytes to a local server that discards them, until it has them all. */
export async function rawSocketThroughput(total: number): Promise<number> {
  let received = 0;
  let done: (() => void) | undefined;
  const server = createServer((s) =>
    s.on('data', (d) => {
      received += d.length;
      if (received >= total) done?.();
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sock = netConnect((server.address() as { port: number }).port, '127.0.0.1');
  await new Promise((resolve) => sock.once('connect', resolve));
  const start = performance.now();
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  for await (const chunk of generated(total)) {
    if (!sock.write(chunk)) await new Promise((resolve) => sock.once('drain', resolve));
  }
  await finished;
  const ms = performance.now() - start;
  sock.destroy();
  server.close();
  return mibPerSec(total, ms);
}

/** Peak RSS (MiB) of a child process receiving one message to a file. */
async function childPeakRss(
  subif: string,
  file: string,
): Promise<{ ready: Promise<void>; rss: Promise<number> }> {
  // The benchmark runs compiled (see run.ts), so the child is the compiled recv-child.js next to this file.
  const script = fileURLToPath(new URL('./recv-child.js', import.meta.url));
  const child = spawn(process.execPath, [script, subif, APP.name, APP.pass, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('subscribed')) onReady();
  });
  const rss = new Promise<number>((resolve, reject) => {
    child.on('exit', (code) => {
      const m = /peakRssMiB=(\d+(\.\d+)?)/.exec(out);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`receiving child failed (exit ${code}): ${out}`));
    });
  });
  return { ready, rss };
}

/** Runs `fn` against a fresh simulator (so that one figure's transfers never queue behind another's). */
async function withSim<T>(fn: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ accounts: [{ ...APP, perms: ['*'] }] });
  try {
    return await fn(sim);
  } finally {
    await sim.close();
  }
}

/** `send` of `total` bytes to the sender node (which spools them; nobody receives them). */
function sendRate(total: number): Promise<number> {
  return withSim(async (sim) => {
    const out = await connect(sim.sender.msgif, { auth: APP });
    const start = performance.now();
    await send(out, { ch: 'unsubscribed', payload: { stream: generated(total), length: total } });
    const rate = mibPerSec(total, performance.now() - start);
    await out.close();
    return rate;
  });
}

/** send -> link -> receiver node -> subscriber, the payload read as a stream. */
function endToEndRate(total: number): Promise<number> {
  return withSim(async (sim) => {
    const out = await connect(sim.sender.msgif, { auth: APP });
    const sub = await connect(sim.receiver.subif, { auth: APP });
    await subscribe(sub, 'bench');
    const start = performance.now();
    const received = recv(sub, { storeq: () => 'stream' }).then(async (m) => {
      let n = 0;
      if (m.payload?.kind === 'stream')
        for await (const c of m.payload.stream) n += (c as Buffer).length;
      return n;
    });
    await send(out, { ch: 'bench', payload: { stream: generated(total), length: total } });
    if ((await received) !== total) throw new Error('end-to-end transfer incomplete');
    const rate = mibPerSec(total, performance.now() - start);
    await out.close();
    await sub.close();
    return rate;
  });
}

/** Peak RSS of a separate client process receiving `total` bytes to a file. */
export function receiveToFilePeakRss(total: number, dir: string): Promise<number> {
  return withSim(async (sim) => {
    const child = await childPeakRss(sim.receiver.subif, join(dir, 'received.bin'));
    await child.ready;
    const out = await connect(sim.sender.msgif, { auth: APP });
    await send(out, { ch: 'bench', payload: { stream: generated(total), length: total } });
    await out.close();
    return child.rss;
  });
}

export async function msgFigures(): Promise<Figure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ddmw-bench-'));
  try {
    const send = await bestOfPaired(
      RUNS,
      () => sendRate(256 * MiB),
      () => rawSocketThroughput(256 * MiB),
    );
    const e2e = await bestOfPaired(
      RUNS,
      () => endToEndRate(64 * MiB),
      () => rawSocketThroughput(64 * MiB),
    );
    const peakRss = await receiveToFilePeakRss(1024 * MiB, dir);
    return [
      figure('msg.send.256MiB', 'MiB/s', send.value, {
        value: send.baseline,
        name: 'raw socket write',
        target: 0.8,
      }),
      figure('msg.e2e.64MiB', 'MiB/s', e2e.value, {
        value: e2e.baseline,
        name: 'raw socket throughput',
        target: 0.3,
      }),
      { name: 'recv.file.1GiB.peakRss', unit: 'MiB', value: peakRss, max: 128 },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
