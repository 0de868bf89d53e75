/**
 * Payloads of the transfer figures, generated as they are read, and their
 * raw-socket baseline.
 */
import { open } from 'node:fs/promises';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { transferDeadlineMs, within } from './deadline.ts';

export const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(MiB, 0x5a);

/** `total` bytes as a stream of 1 MiB chunks, without holding them all. */
export function generated(total: number): Readable {
  let left = total;
  return new Readable({
    read() {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      this.push(n > 0 ? CHUNK.subarray(0, n) : null);
    },
  });
}

/** MiB/s of `bytes` moved in `ms`. */
export const mibPerSec = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

/** `bytes` in MiB, for messages. */
export const mib = (bytes: number) => (bytes / MiB).toFixed(1);

/**
 * Raw baseline: write `total` bytes to a local server that discards them,
 * until it has them all; MiB/s. Rejects past the transfer's deadline.
 */
export async function rawSocketThroughput(total: number): Promise<number> {
  let received = 0;
  let done: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    done = resolve;
  });
  const server = createServer((s) => {
    s.on('error', () => {}); // the client closing first is not a failure
    s.on('data', (d) => {
      received += d.length;
      if (received >= total) done();
    });
  });
  let sock: Socket | undefined;
  const transfer = async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sock = netConnect((server.address() as { port: number }).port, '127.0.0.1');
    await new Promise((resolve) => sock?.once('connect', resolve));
    const start = performance.now();
    for await (const chunk of generated(total)) {
      if (!sock.write(chunk)) await new Promise((resolve) => sock?.once('drain', resolve));
    }
    await arrived;
    return mibPerSec(total, performance.now() - start);
  };
  const what = () => `raw socket: the bytes at the server (${mib(received)} of ${mib(total)} MiB)`;
  try {
    return await within(transferDeadlineMs(total), what, transfer());
  } finally {
    sock?.destroy();
    server.close();
  }
}

/** Where {@link rawSocketRead} puts the bytes it reads. */
export type RawSink = { kind: 'bytes' } | { kind: 'file'; path: string };

/**
 * Raw baseline of receiving: a local server writes `total` bytes, and a
 * plain socket reads them into one buffer of `total` bytes (each read into
 * one reused buffer, then copied: as the client library reads), or into a
 * file (with backpressure); MiB/s from the connection to the last byte.
 */
export async function rawSocketRead(total: number, sink: RawSink): Promise<number> {
  let received = 0;
  const server = createServer(async (s) => {
    s.on('error', () => {}); // the client closing first is not a failure
    for await (const chunk of generated(total)) {
      if (!s.write(chunk)) await new Promise((resolve) => s.once('drain', resolve));
    }
    s.end();
  });
  let sock: Socket | undefined;
  const transfer = async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const start = performance.now();
    const port = (server.address() as { port: number }).port;
    if (sink.kind === 'file') {
      // Chunks gathered into 2 MiB batches, one write at a time (the socket paused meanwhile).
      const file = await open(sink.path, 'w');
      const socket = netConnect(port, '127.0.0.1');
      sock = socket;
      let batch: Buffer[] = [];
      let batched = 0;
      let writing = Promise.resolve();
      const flush = () => {
        const buffers = batch;
        batch = [];
        batched = 0;
        writing = writing.then(async () => {
          await file.writev(buffers);
        });
        return writing;
      };
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        batch.push(chunk);
        batched += chunk.length;
        if (batched < 2 * MiB) return;
        socket.pause();
        void flush().then(() => socket.resume());
      });
      await new Promise((resolve) => socket.once('end', resolve));
      await flush();
      await file.close();
    } else {
      const into = Buffer.allocUnsafe(total);
      const onread = {
        buffer: Buffer.allocUnsafe(1024 * 1024),
        callback: (n: number, buf: Uint8Array) => {
          into.set(buf.subarray(0, n), received);
          received += n;
          return true;
        },
      };
      sock = netConnect({ port, host: '127.0.0.1', onread });
      await new Promise((resolve) => sock?.once('end', resolve));
    }
    if (received !== total) throw new Error(`${what()}: the server's bytes did not add up`);
    return mibPerSec(total, performance.now() - start);
  };
  const what = () => `raw socket: the bytes at the client (${mib(received)} of ${mib(total)} MiB)`;
  try {
    return await within(transferDeadlineMs(total), what, transfer());
  } finally {
    sock?.destroy();
    server.close();
  }
}
