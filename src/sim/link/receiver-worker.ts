/**
 * Entry point of the thread that runs the receiving end of the one-way
 * link: it takes frames from the transport (a `MessagePort` from the
 * sending end for `stream`, a UDP socket for `udp`), feeds them to a
 * {@link Reassembler} and posts the results to the receiver node. It has a
 * thread of its own so that the node's work (sockets, spool files) cannot
 * keep it from reading.
 *
 * Flow control: the node says when it has taken a transfer. With the
 * stream transport, the thread hands the sending end credit for the frames
 * it has taken, and stops doing so while too many transfers wait for the
 * node or too many bytes for the disk: the sender then waits, and nothing
 * is lost. With UDP nothing can hold the sender back, so such transfers are
 * lost (overrun), as behind a physical diode.
 *
 * Messages from the node: `{ type: 'taken', count }` (transfers routed),
 * `{ type: 'released', bytes, buffers }` (memory of a transfer is free
 * again: budget, and buffers to fill again), and `'close'` (stop, remove
 * unfinished spool files, exit).
 */
import { createSocket } from 'node:dgram';
import { unlink } from 'node:fs/promises';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { LinkEvent, LinkReceiverConfig, NodeMessage } from './format.ts';
import { WriteBudget } from './incoming-data.ts';
import { LinkMonitor } from './monitor.ts';
import { Reassembler } from './reassembly.ts';
import { RingHolds, readFrames } from './ring.ts';

const port = parentPort;
if (!port) throw new Error('link/receiver-worker.ts must run as a worker thread');
const { config, framePort, ring } = workerData as {
  config: LinkReceiverConfig;
  framePort: MessagePort;
  ring: SharedArrayBuffer;
};

/** Most bytes waiting to be written to spool files, over all transfers. */
const MAX_UNWRITTEN_BYTES = 64 * 1024 * 1024;
/** Most completed transfers posted to the node and not yet taken. */
const MAX_UNTAKEN = 64;
/** How often the frame counters are posted (when they changed). */
const COUNTS_EVERY_MS = 100;
/** Credit is handed back to the sending end in steps of at least this many bytes. */
const CREDIT_STEP = 1024 * 1024;

let untaken = 0;
let held = false;
/** How far the ring has been read, and how far the sending end was told it is free. */
let read = 0;
let credited = 0;
/** Frames read from the ring and still used (being written to spool files). */
const holds = new RingHolds(() => credit());

/** Tells the sending end how far the ring is free (it may write again there), unless held back. */
function credit(): void {
  const free = holds.freeBelow(read);
  if (held || free - credited < CREDIT_STEP) return;
  framePort.postMessage(free);
  credited = free;
}

/** Holds the stream transport's credit back while the node and the disk do not keep up. */
function updateFlow(): void {
  if (config.transport !== 'stream') return;
  const hold = untaken >= MAX_UNTAKEN || budget.bytes >= MAX_UNWRITTEN_BYTES;
  if (hold === held) return;
  held = hold;
  monitor.hold(hold);
  const free = holds.freeBelow(read);
  if (!hold && free > credited) {
    framePort.postMessage(free);
    credited = free;
  }
}

function post(event: LinkEvent, transfer: ArrayBuffer[] = []): void {
  if (event.type === 'complete') {
    if (config.transport === 'udp' && untaken >= MAX_UNTAKEN) {
      if (event.path) void unlink(event.path).catch(() => {});
      if (event.budgeted) reassembler.release(event.size);
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
const monitor = new LinkMonitor(
  config.watchLink ? config.heartbeatMs : 0,
  config.heartbeatMisses,
  (state, reason) => post({ type: 'link', state, reason }),
);
const reassembler = new Reassembler(config, post, budget, () => monitor.alive());
const counts = setInterval(() => {
  const c = reassembler.takeCounts();
  if (c) post({ type: 'frames', ...c });
}, COUNTS_EVERY_MS);

/** Opens the transport; returns how to close it. */
function listen(): { close: () => void } {
  if (config.transport === 'udp') {
    const socket = createSocket({ type: 'udp4', recvBufferSize: config.recvBufferSize });
    socket.on('message', (frame) => reassembler.accept(frame));
    socket.bind(0, config.host, () => {
      const recvBufferSize = socket.getRecvBufferSize();
      post({ type: 'listening', port: socket.address().port, recvBufferSize });
    });
    return { close: () => socket.close() };
  }
  const frames = Buffer.from(ring);
  framePort.on('message', (written: number) => {
    read = readFrames(frames, read, written, (frame, at) =>
      reassembler.accept(frame, () => holds.hold(at)),
    );
    reassembler.flush(); // nothing held waits for frames still to come
    credit();
  });
  post({ type: 'listening', port: 0, recvBufferSize: 0 });
  return { close: () => framePort.close() };
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
  if (message.type === 'released') {
    reassembler.release(message.bytes, message.buffers);
    return;
  }
  untaken -= message.count;
  updateFlow();
});
