/**
 * The receiving end of the one-way link, seen from the receiver node: it
 * starts the link's thread (receiver-worker.ts), hands each complete,
 * authentic transfer to the node (and tells the thread once the node has
 * taken it), and counts and reports the transfers that will never arrive.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from '../../worker-thread.ts';
import type { Logger } from '../node/session.ts';
import { discard, type Spooled } from '../node/spool.ts';
import type { SimulatorStats } from '../stats.ts';
import type { LinkEvent, LinkReceiverConfig, NodeMessage } from './format.ts';
import { CHANNEL_WINDOW } from './transports.ts';

/** A transfer that arrived whole: its header and its data (now owned by the receiver). */
export interface ArrivedTransfer {
  /** Transfer number on the link. */
  number: number;
  /** The transfer header: an encoded blather telegram. */
  header: Buffer;
  /** The data. */
  data: Spooled;
  /** For the end of a stream (`StrmEnd`): the sha-256 (hex) of its segments, computed by the link's receiving end. */
  digest?: string | undefined;
}

/** A transfer the link will never deliver. */
export interface FailedTransfer {
  number: number;
  kind: 'lost' | 'corrupt' | 'aborted';
  reason: string;
}

/** How the receiving end is set up. */
export interface LinkReceiverOptions {
  /** Passed to the link's thread. */
  config: LinkReceiverConfig;
  /** Gets every transfer that arrived whole, in arrival order; the link slows down until it settles. */
  onTransfer: (transfer: ArrivedTransfer) => Promise<void>;
  /** Gets every transfer that will never arrive. */
  onFailure: (failure: FailedTransfer) => void;
  /** Gets every change of the link's state. */
  onLinkState: (state: 'up' | 'down', reason: string) => void;
  /** Called if the thread ends before {@link LinkReceiver.close} (it crashed). */
  onThreadExit: () => void;
  /** Counters to update. */
  stats: SimulatorStats;
  /** Where log lines go. */
  log: Logger | undefined;
}

/** How long {@link LinkReceiver.close} waits for the thread to finish before terminating it. */
const EXIT_GRACE_MS = 2000;

/** Starts the link's thread (receiver-worker.ts). */
function startLinkThread(
  config: LinkReceiverConfig,
  framePort: MessagePort,
  ring: SharedArrayBuffer,
): Worker {
  const options = { workerData: { config, framePort, ring }, transferList: [framePort] };
  return startWorker(import.meta.url, 'receiver-worker', options);
}

/** The receiver node's side of the link. */
export class LinkReceiver {
  /** UDP port the receiving end listens on (127.0.0.1); 0 for the stream transport. */
  readonly port: number;
  /** The channel transport's end of the frame channel to the thread, and the ring it writes into. */
  readonly framePort: MessagePort;
  readonly ring: SharedArrayBuffer;
  readonly #worker: Worker;
  readonly #options: LinkReceiverOptions;
  readonly #exited: Promise<void>;
  #closed: Promise<void> | undefined;
  /** Transfers routed that the thread has not been told of yet. */
  #untold = 0;

  private constructor(
    worker: Worker,
    port: number,
    framePort: MessagePort,
    ring: SharedArrayBuffer,
    options: LinkReceiverOptions,
  ) {
    this.framePort = framePort;
    this.ring = ring;
    this.#worker = worker;
    this.port = port;
    this.#options = options;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    void this.#exited.then(() => {
      if (!this.#closed) options.onThreadExit();
    });
    worker.on('message', (event: LinkEvent) => this.#onEvent(event));
    worker.on('error', (err) => options.log?.(`link: receiving thread failed: ${err.message}`));
  }

  /** Starts the thread and waits until its socket is bound. */
  static async start(options: LinkReceiverOptions): Promise<LinkReceiver> {
    const channel = new MessageChannel();
    const ring = new SharedArrayBuffer(CHANNEL_WINDOW);
    const worker = startLinkThread(options.config, channel.port2, ring);
    const port = await new Promise<number>((resolve, reject) => {
      const fail = (err: Error) => {
        worker.off('message', ready);
        reject(err);
      };
      const ready = (event: LinkEvent) => {
        if (event.type !== 'listening') return;
        worker.off('message', ready);
        worker.off('error', fail);
        const where =
          options.config.transport === 'udp'
            ? `UDP 127.0.0.1:${event.port} (receive buffer ${event.recvBufferSize} bytes)`
            : 'a flow-controlled channel between threads';
        options.log?.(`link: receiving on ${where}`);
        resolve(event.port);
      };
      worker.on('message', ready);
      worker.once('error', fail);
    });
    return new LinkReceiver(worker, port, channel.port1, ring, options);
  }

  #onEvent(event: LinkEvent): void {
    const { stats, log } = this.#options;
    switch (event.type) {
      case 'complete': {
        const { chunks, size, budgeted } = event;
        const data: Spooled = chunks
          ? {
              kind: 'memory',
              chunks: chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)),
              size,
              // The memory goes back to the receiving end once the node is done with it:
              // budgeted bytes, and the buffers themselves when nothing refers to them.
              onFree: (reusable) => this.#released(budgeted ? size : 0, reusable ? chunks : []),
            }
          : { kind: 'file', path: event.path as string, size };
        if (this.#closed) {
          void discard(data);
          break;
        }
        const header = Buffer.from(event.header);
        void this.#options
          .onTransfer({ number: event.transfer, header, data, digest: event.digest })
          .finally(() => this.#taken());
        break;
      }
      case 'lost':
        if (event.kind === 'corrupt') stats.transfersCorrupt++;
        else if (event.kind === 'aborted') stats.transfersAborted++;
        else stats.transfersLost++;
        this.#options.onFailure({ number: event.transfer, kind: event.kind, reason: event.reason });
        break;
      case 'frames':
        stats.framesIgnored += event.ignored;
        stats.framesRejected += event.rejected;
        if (event.rejected > 0) {
          log?.(
            `link: rejected ${event.rejected} frame(s), the last because: ${event.lastRejection}`,
          );
        }
        break;
      case 'link':
        if (event.state === 'down') stats.linkDowns++;
        log?.(`link: ${event.state}: ${event.reason}`);
        this.#options.onLinkState(event.state, event.reason);
        break;
      case 'listening':
        break;
    }
  }

  /** Tells the thread a transfer was routed: one message per event-loop turn, however many. */
  #taken(): void {
    if (this.#untold++ > 0) return;
    setImmediate(() => {
      this.#tell({ type: 'taken', count: this.#untold });
      this.#untold = 0;
    });
  }

  /** Gives a transfer's memory back to the thread: `bytes` of its budget, and `chunks`' buffers (moved). */
  #released(bytes: number, chunks: Uint8Array[]): void {
    if (bytes === 0 && chunks.length === 0) return;
    const buffers = [...new Set(chunks.map((c) => c.buffer as ArrayBuffer))];
    if (!this.#closed) this.#worker.postMessage({ type: 'released', bytes, buffers }, buffers);
  }

  /** Posts to the thread, unless it is closing. */
  #tell(message: NodeMessage): void {
    if (!this.#closed) this.#worker.postMessage(message);
  }

  /** Stops the thread: it removes its unfinished spool files and exits. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#worker.postMessage('close');
      const timer = setTimeout(() => void this.#worker.terminate(), EXIT_GRACE_MS);
      await this.#exited;
      clearTimeout(timer);
    })();
    return this.#closed;
  }
}
