/**
 * Entry point of the thread that runs the receiving end of the one-way
 * link: it reads frames from the transport (a Unix socket server for
 * `stream`, a UDP socket for `udp`), feeds them to a {@link Reassembler}
 * and posts the results to the receiver node. It has a thread of its own so
 * that the node's work (sockets, spool files) cannot keep it from reading.
 *
 * Flow control, inside the receiver node: the node says when it has taken
 * a transfer. With the stream transport, the thread stops reading while too
 * many transfers wait for the node or too many bytes for the disk, and the
 * kernel then holds the sending end back: nothing is lost. With UDP nothing
 * can hold the sender back, so such transfers are lost (overrun), as behind
 * a physical diode.
 *
 * Messages from the node: `{ type: 'taken' }`, and `'close'` (stop, remove
 * unfinished spool files, exit).
 */
import { createSocket } from 'node:dgram';
import { unlink } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { LinkEvent, LinkReceiverConfig, NodeMessage } from './format.ts';
import { WriteBudget } from './incoming-data.ts';
import { LinkMonitor } from './monitor.ts';
import { Reassembler } from './reassembly.ts';
import { FrameSplitter } from './stream-frames.ts';

const port = parentPort;
if (!port) throw new Error('link/receiver-worker.ts must run as a worker thread');
const config = workerData as LinkReceiverConfig;

/** Most bytes waiting to be written to spool files, over all transfers. */
const MAX_UNWRITTEN_BYTES = 32 * 1024 * 1024;
/** Most completed transfers posted to the node and not yet taken. */
const MAX_UNTAKEN = 64;
/** How often the frame counters are posted (when they changed). */
const COUNTS_EVERY_MS = 100;

const streams = new Set<Socket>();
let untaken = 0;
let held = false;

/** Stops or resumes reading the stream transport as the node and the disk keep up. */
function updateFlow(): void {
  if (config.transport !== 'stream') return;
  const hold = untaken >= MAX_UNTAKEN || budget.bytes >= MAX_UNWRITTEN_BYTES;
  if (hold === held) return;
  held = hold;
  monitor.hold(hold);
  for (const s of streams) {
    if (hold) s.pause();
    else s.resume();
  }
}

function post(event: LinkEvent, transfer: ArrayBuffer[] = []): void {
  if (event.type === 'complete') {
    if (config.transport === 'udp' && untaken >= MAX_UNTAKEN) {
      if (event.path) void unlink(event.path).catch(() => {});
      const reason = `receiver overrun: ${MAX_UNTAKEN} transfers already wait for the receiver node`;
      port?.postMessage({
        type: 'lost',
        transfer: event.transfer,
        kind: 'lost',
        reason,
      } satisfies LinkEvent);
      return;
    }
    untaken++;
    updateFlow();
  }
  port?.postMessage(event, transfer);
}

const budget = new WriteBudget(MAX_UNWRITTEN_BYTES, updateFlow);
const monitor = new LinkMonitor(config.heartbeatMs, config.heartbeatMisses, (state, reason) =>
  post({ type: 'link', state, reason }),
);
const reassembler = new Reassembler(config, post, budget, () => monitor.alive());
const counts = setInterval(() => {
  const c = reassembler.takeCounts();
  if (c) post({ type: 'frames', ...c });
}, COUNTS_EVERY_MS);

/** Opens the transport; resolves with the UDP port (0 for the stream transport) and buffer size. */
function listen(): { close: () => void } {
  if (config.transport === 'udp') {
    const socket = createSocket({ type: 'udp4', recvBufferSize: config.recvBufferSize });
    socket.on('message', (frame) => reassembler.accept(frame));
    socket.bind(0, config.host, () => {
      post({
        type: 'listening',
        port: socket.address().port,
        recvBufferSize: socket.getRecvBufferSize(),
      });
    });
    return { close: () => socket.close() };
  }
  const server = createServer((s) => {
    streams.add(s);
    if (held) s.pause();
    const splitter = new FrameSplitter(config.frameSize, (frame) => reassembler.accept(frame));
    s.on('data', (chunk: Buffer) => {
      const bad = splitter.push(chunk);
      if (bad !== undefined) {
        reassembler.rejectStream(bad);
        s.destroy();
      }
    });
    s.on('error', () => {}); // a peer that goes away: nothing to do
    s.on('close', () => streams.delete(s));
  });
  server.listen(config.socketPath, () => post({ type: 'listening', port: 0, recvBufferSize: 0 }));
  return {
    close: () => {
      server.close();
      for (const s of streams) s.destroy();
    },
  };
}

const transport = listen();

port.on('message', (message: NodeMessage) => {
  if (message === 'close') {
    transport.close();
    monitor.stop();
    clearInterval(counts);
    void reassembler.close().then(() => port.close());
    return;
  }
  untaken--;
  updateFlow();
});
