/**
 * Push targets of the receiver node: for each message on its channel, the
 * node connects to the application's address (keeping the connection open,
 * reconnecting after failures), writes the same `Msg` telegram and bytes a
 * subscriber gets, and waits for the application's `Ok` or `Fail` before
 * the next one. The acknowledgement is the simulator's choice: how a real
 * DDMW node pushes is not known. Messages wait in a queue bounded like a
 * subscriber's (queue-limits.ts); one that would exceed it is dropped.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameReader, type Telegram } from '../../blather/index.ts';
import { DdmwError } from '../../err.ts';
import type { ReceivedMessage } from '../node/message.ts';
import type { Logger } from '../node/session.ts';
import { writeChunks } from '../node/socket-write.ts';
import { queueRefusal } from './queue-limits.ts';
import type { OutletOptions } from './subscriber.ts';

/**
 * Parses `host:port`, `[v6]:port` or a Unix socket path (anything with a
 * `/`) into connect options. Throws `BAD_INPUT` for anything else.
 */
export function parsePushAddress(addr: string): NetConnectOpts {
  if (addr.includes('/')) return { path: addr };
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(addr);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (host === undefined || !(port > 0 && port <= 65535)) {
    throw new DdmwError(
      'BAD_INPUT',
      `Push address "${addr}" is neither host:port nor a Unix socket path`,
    );
  }
  return { host, port };
}

/** How a push target is set up. */
export interface PushTargetOptions extends OutletOptions {
  /** Canonical channel whose messages go to this target. */
  channel: string;
  /** The application's address, as given. */
  addr: string;
  /** Wait between a failed connection and the next attempt. */
  reconnectDelayMs: number;
  /** Where log lines go. */
  log: Logger | undefined;
}

interface PushConnection {
  socket: Socket;
  reader: FrameReader;
}

/** One push target: a queue and the loop that pushes it, one message at a time. */
export class PushTarget {
  /** Canonical channel whose messages go to this target. */
  readonly channel: string;
  readonly #options: PushTargetOptions;
  readonly #connectTo: NetConnectOpts;
  readonly #queue: ReceivedMessage[] = [];
  /** Bytes of the messages in {@link #queue}. */
  #queuedBytes = 0;
  /** The message being pushed (again after a failure), out of the queue. */
  #current: ReceivedMessage | undefined;
  readonly #stop = new AbortController();
  #connection: PushConnection | undefined;
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;

  constructor(options: PushTargetOptions) {
    this.channel = options.channel;
    this.#options = options;
    this.#connectTo = parsePushAddress(options.addr);
    this.#loop = this.#run();
  }

  #log(line: string): void {
    this.#options.log?.(`receiver/push ${this.#options.addr}: ${line}`);
  }

  /** Queues a message; when the queue is full it is dropped, counted and logged. */
  offer(msg: ReceivedMessage): void {
    if (this.#stop.signal.aborted) return;
    const load = { count: this.#queue.length, bytes: this.#queuedBytes };
    const refusal = queueRefusal(this.#options, load, msg.size);
    if (refusal) {
      this.#options.stats.pushesDropped++;
      this.#log(`queue full: ${refusal}: message ${msg.header.xferId} dropped`);
      return;
    }
    msg.retain();
    this.#queue.push(msg);
    this.#queuedBytes += msg.size;
    this.#wake?.();
  }

  /** The message to push: the current one, else the next in the queue. */
  #next(): ReceivedMessage | undefined {
    if (!this.#current) {
      this.#current = this.#queue.shift();
      this.#queuedBytes -= this.#current?.size ?? 0;
    }
    return this.#current;
  }

  async #run(): Promise<void> {
    const { signal } = this.#stop;
    while (!signal.aborted) {
      const msg = this.#next();
      if (!msg) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      try {
        const reply = await this.#push(msg);
        this.#current = undefined;
        msg.release();
        this.#settled(msg, reply);
      } catch (err) {
        if (signal.aborted) break;
        this.#drop();
        const text = err instanceof Error ? err.message : String(err);
        this.#log(`${text}; retrying in ${this.#options.reconnectDelayMs} ms`);
        await sleep(this.#options.reconnectDelayMs, undefined, { signal }).catch(() => {});
      }
    }
  }

  #settled(msg: ReceivedMessage, reply: Telegram): void {
    const { stats } = this.#options;
    if (reply.topic === 'Ok') {
      stats.pushesAcked++;
      return;
    }
    stats.pushesFailed++;
    this.#log(`message ${msg.header.xferId} not accepted: ${reply.toString()}`);
    // Anything but Ok or Fail means the application and we are out of step: start afresh.
    if (reply.topic !== 'Fail') this.#drop();
  }

  /** Writes one message on the open (or a new) connection and reads the application's reply. */
  async #push(msg: ReceivedMessage): Promise<Telegram> {
    const { socket, reader } = this.#connection ?? (await this.#connect());
    const whole = await msg.writeTo(
      (chunks, flushed) => writeChunks(socket, chunks, flushed),
      () => socket.destroyed,
    );
    if (!whole) throw new Error(`connection lost while pushing message ${msg.header.xferId}`);
    return reader.readTelegram();
  }

  #connect(): Promise<PushConnection> {
    return new Promise((resolve, reject) => {
      // Closing the target aborts a connection attempt too.
      const socket = connect({ ...this.#connectTo, signal: this.#stop.signal });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.#log(`connection error: ${err.message}`));
        socket.once('close', () => {
          if (this.#connection?.socket === socket) this.#connection = undefined;
        });
        this.#connection = { socket, reader: new FrameReader(socket) };
        this.#log('connected');
        resolve(this.#connection);
      });
    });
  }

  #drop(): void {
    this.#connection?.socket.destroy();
    this.#connection = undefined;
  }

  /** Stops pushing, closes the connection and drops the queue. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#wake?.();
    this.#drop();
    await this.#loop;
    this.#current?.release();
    this.#current = undefined;
    for (const msg of this.#queue.splice(0)) msg.release();
    this.#queuedBytes = 0;
  }
}
