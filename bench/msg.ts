/**
 * Message figures against the simulator, each beside a raw-socket baseline
 * measured in the same run:
 * - `msg.send.256MiB`: `send` of a 256 MiB payload to the sender node, vs a
 *   raw socket write of the same bytes to a server that discards them;
 * - `msg.e2e.64MiB`: send -> one-way link -> receiver node -> subscriber,
 *   vs the same raw socket throughput;
 * - `recv.file.1GiB.peakRss`: peak RSS of a separate client process that
 *   receives a 1 GiB payload to a file.
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
import { startSimulator } from '../src/sim/index.ts';
import { type Figure, figure } from './figures.ts';

const MiB = 1024 * 1024;
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
async function rawSocketThroughput(total: number): Promise<number> {
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
  const script = fileURLToPath(new URL('./recv-child.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, subif, APP.name, APP.pass, file],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
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

export async function msgFigures(): Promise<Figure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ddmw-bench-'));
  const sim = await startSimulator({ accounts: [{ ...APP, perms: ['*'] }] });
  try {
    const out = await connect(sim.sender.msgif, { auth: APP });
    const sub = await connect(sim.receiver.subif, { auth: APP });
    await subscribe(sub, 'bench');

    // send of 256 MiB to the sender node (the node spools it; nobody needs to receive it).
    const sendBytes = 256 * MiB;
    let start = performance.now();
    await send(out, {
      ch: 'unsubscribed',
      payload: { stream: generated(sendBytes), length: sendBytes },
    });
    const sendRate = mibPerSec(sendBytes, performance.now() - start);
    const rawSend = await rawSocketThroughput(sendBytes);

    // end to end, 64 MiB, received as bytes.
    const e2eBytes = 64 * MiB;
    start = performance.now();
    const received = recv(sub, { storeq: () => 'stream' }).then(async (m) => {
      let n = 0;
      if (m.payload?.kind === 'stream')
        for await (const c of m.payload.stream) n += (c as Buffer).length;
      return n;
    });
    await send(out, { ch: 'bench', payload: { stream: generated(e2eBytes), length: e2eBytes } });
    if ((await received) !== e2eBytes) throw new Error('end-to-end transfer incomplete');
    const e2eRate = mibPerSec(e2eBytes, performance.now() - start);
    const rawE2e = await rawSocketThroughput(e2eBytes);

    // 1 GiB to a file in a separate client process, measuring its peak RSS.
    const child = await childPeakRss(sim.receiver.subif, join(dir, 'received.bin'));
    await child.ready;
    await send(out, {
      ch: 'bench',
      payload: { stream: generated(1024 * MiB), length: 1024 * MiB },
    });
    const peakRss = await child.rss;

    await out.close();
    await sub.close();
    return [
      figure('msg.send.256MiB', 'MiB/s', sendRate, {
        value: rawSend,
        name: 'raw socket write',
        target: 0.8,
      }),
      figure('msg.e2e.64MiB', 'MiB/s', e2eRate, {
        value: rawE2e,
        name: 'raw socket throughput',
        target: 0.3,
      }),
      { name: 'recv.file.1GiB.peakRss', unit: 'MiB', value: peakRss, max: 128 },
    ];
  } finally {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}
