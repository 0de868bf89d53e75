/**
 * The sending end of the one-way link: a FIFO of transfers, sent one after
 * another as UDP datagrams to the receiving end on loopback, paced to a
 * configured rate. Data is read from the spool straight into the datagram
 * buffer, never whole into memory. Nothing ever comes back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../node/session.ts';
import { discard, type Spooled, SpooledReader, spooledSize } from '../node/spool.ts';
import type { SimulatorStats } from '../stats.ts';
import {
  datagramCount,
  dataRoom,
  FIXED_SIZE,
  HASH_SIZE,
  MAX_HEADER_SIZE,
  writeFixed,
} from './format.ts';

/** Identifies one datagram for a {@link LinkFault} hook. */
export interface DatagramInfo {
  /** Transfer number on the link: 1 for the first message sent, 2 for the next, ... */
  transfer: number;
  /** Sequence number of the datagram in its transfer, from 0. */
  seq: number;
  /** Datagrams in the transfer. */
  count: number;
}

/**
 * Fault injection: called for every datagram before it is sent. `drop`
 * leaves it out, `corrupt` flips the bits of its last byte (so the
 * transfer's sha-256 no longer matches), anything else sends it as it is.
 */
export type LinkFault = (datagram: DatagramInfo) => 'drop' | 'corrupt' | undefined;

/** A transfer waiting to be sent: its header and its data, in order. */
export interface OutgoingTransfer {
  /** The transfer header: an encoded blather telegram. */
  header: Buffer;
  /** The data, front to back. Removed once sent. */
  parts: Spooled[];
  /** Called once the transfer has left (or was dropped because the link closed). */
  onSent?: () => void;
}

/** How the sending end is set up. */
export interface LinkSenderOptions {
  /** UDP port of the receiving end on 127.0.0.1. */
  port: number;
  /** Pace: bytes per second, datagram overhead included; `Infinity` for no pacing. */
  rateBytesPerSec: number;
  /** Bytes per datagram (the last one of a transfer may be shorter). */
  datagramSize: number;
  /** Optional fault injection. */
  fault: LinkFault | undefined;
  /** Counters to update. */
  stats: SimulatorStats;
  /** Where log lines go. */
  log: Logger | undefined;
}

/** Sleeps as needed so that bytes leave at no more than the configured rate. */
class Pacer {
  readonly #bytesPerMs: number;
  /** `performance.now()` when the link is free for the next datagram. */
  #free = 0;

  constructor(bytesPerSec: number) {
    this.#bytesPerMs = bytesPerSec / 1000;
  }

  /** Waits for the link to be free, then books it for `bytes`. */
  async book(bytes: number, signal: AbortSignal): Promise<void> {
    const now = performance.now();
    const start = Math.max(this.#free, now);
    this.#free = start + bytes / this.#bytesPerMs;
    // Timers have a resolution of about 1 ms: shorter waits add up and are slept in one go.
    if (start - now >= 1) await sleep(start - now, undefined, { signal });
  }
}

/** The sending end of the link. */
export class LinkSender {
  readonly #socket: Socket;
  readonly #options: LinkSenderOptions;
  readonly #pacer: Pacer;
  /** Random id of this sending end, in every datagram. */
  readonly #session = randomBytes(8);
  /** One datagram, reused: each send is awaited before the next is built. */
  readonly #buf: Buffer;
  readonly #queue: OutgoingTransfer[] = [];
  readonly #stop = new AbortController();
  #transfers = 0;
  #pump: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  private constructor(socket: Socket, options: LinkSenderOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#pacer = new Pacer(options.rateBytesPerSec);
    this.#buf = Buffer.alloc(options.datagramSize);
    socket.on('error', (err) => options.log?.(`link: send error: ${err.message}`));
  }

  /** Opens the UDP socket towards the receiving end. */
  static async open(options: LinkSenderOptions): Promise<LinkSender> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(options.port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new LinkSender(socket, options);
  }

  /** Bytes of data a transfer whose header has `headerSize` bytes can carry in one datagram. */
  singleDatagramRoom(headerSize: number): number {
    return dataRoom(0, 1, headerSize, this.#options.datagramSize);
  }

  /** Queues a transfer; it is sent after the ones queued before it. Takes over its spooled parts. */
  enqueue(transfer: OutgoingTransfer): void {
    if (transfer.header.length > MAX_HEADER_SIZE) {
      throw new Error(`Transfer header of ${transfer.header.length} bytes is too long`);
    }
    if (this.#closed) {
      void Promise.all(transfer.parts.map(discard));
      transfer.onSent?.();
      return;
    }
    this.#queue.push(transfer);
    this.#pump ??= this.#run();
  }

  async #run(): Promise<void> {
    for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
      const number = ++this.#transfers;
      try {
        if (await this.#send(next, number)) this.#options.stats.transfersSent++;
      } catch (err) {
        if (!this.#stop.signal.aborted) {
          const text = err instanceof Error ? err.message : String(err);
          this.#options.log?.(`link: transfer ${number} not sent: ${text}`);
        }
      } finally {
        await Promise.all(next.parts.map(discard));
        next.onSent?.();
      }
    }
    this.#pump = undefined;
  }

  /** Sends one transfer; false when the link closed before its end. */
  async #send(transfer: OutgoingTransfer, number: number): Promise<boolean> {
    const { header, parts } = transfer;
    const { datagramSize, fault, stats } = this.#options;
    const total = parts.reduce((sum, part) => sum + spooledSize(part), 0);
    const count = datagramCount(total, header.length, datagramSize);
    const reader = new SpooledReader(parts);
    const hash = createHash('sha256');
    const buf = this.#buf;
    let offset = 0;
    try {
      for (let seq = 0; seq < count; seq++) {
        if (this.#stop.signal.aborted) return false;
        const n = Math.min(dataRoom(seq, count, header.length, datagramSize), total - offset);
        const headerSize = seq === 0 ? header.length : 0;
        writeFixed(buf, {
          session: this.#session,
          transfer: number,
          seq,
          count,
          total,
          offset,
          headerSize,
        });
        if (headerSize > 0) header.copy(buf, FIXED_SIZE);
        const hashAt = FIXED_SIZE + headerSize;
        const dataAt = seq === count - 1 ? hashAt + HASH_SIZE : hashAt;
        await reader.read(buf, dataAt, n);
        hash.update(buf.subarray(dataAt, dataAt + n));
        if (seq === count - 1) hash.digest().copy(buf, hashAt);
        offset += n;
        const size = dataAt + n;
        const verdict = fault?.({ transfer: number, seq, count });
        if (verdict === 'drop') {
          stats.datagramsDropped++;
          continue;
        }
        if (verdict === 'corrupt') buf[size - 1] = (buf[size - 1] as number) ^ 0xff;
        await this.#pacer.book(size, this.#stop.signal);
        await this.#datagram(size);
        stats.datagramsSent++;
      }
      return true;
    } finally {
      await reader.close();
    }
  }

  /** Sends the first `size` bytes of the datagram buffer and waits until the socket is done with it. */
  #datagram(size: number): Promise<void> {
    return new Promise((resolve) => {
      this.#socket.send(this.#buf, 0, size, (err) => {
        // A failed send is a lost datagram, as on a real link: the receiving end will notice.
        if (err) this.#options.log?.(`link: datagram not sent: ${err.message}`);
        resolve();
      });
    });
  }

  /** Stops sending (the transfer on the way is cut short), drops the queue and closes the socket. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stop.abort();
      const dropped = this.#queue.splice(0);
      await this.#pump;
      await Promise.all(dropped.flatMap((transfer) => transfer.parts.map(discard)));
      for (const transfer of dropped) transfer.onSent?.();
      await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    })();
    return this.#closed;
  }
}
