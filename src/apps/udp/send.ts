/**
 * UDP to DDMW: datagrams taken on a UDP socket are gathered into batches
 * (batch.ts), in order, and each batch is sent as one message. A batch
 * goes when it holds `batchBytes` or when its first datagram has waited
 * `batchMs`. Batches wait in a queue of at most `maxQueuedBytes` while the
 * node takes the ones before; a batch that would overflow it is dropped
 * whole and counted (its numbers are used up, so the receiving end sees the
 * gap too). Memory stays bounded whatever the rate.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { type Connection, DdmwError, msg, type types } from '../../index.ts';
import { type Ledger, sha256Of } from '../ledger/index.ts';
import { parseUdpAddress } from './address.ts';
import {
  type BatchHeader,
  encodeBatchHeader,
  encodeDatagrams,
  FRAME_HEADER,
  MAX_BATCH_BYTES,
  MAX_BATCH_DATAGRAMS,
} from './batch.ts';

/** Options of {@link forwardUdp}. */
export interface UdpSendOptions {
  /** Channel. */
  ch: types.AppChannel;
  /** Where to take datagrams: `host:port` (port 0 picks one: see {@link UdpForwarder.address}). */
  listen: string;
  /** Longest a datagram waits for its batch to fill, in milliseconds (default 10). */
  batchMs?: number;
  /** A batch goes once it holds this many bytes, 2 per datagram included (default 60,000). */
  batchBytes?: number;
  /** Most bytes of batches waiting for the node (default 16 MiB; a batch is always taken into an empty queue). */
  maxQueuedBytes?: number;
  /** Time limit of each acknowledgement of the node (default: the connection's). */
  timeoutMs?: number;
  /** A line is appended for each batch sent (its name: `udp <session>/<seq>`). */
  ledger?: Ledger;
}

/** Counters of a forwarder. */
export interface UdpSendCounters {
  /** Datagrams taken from the socket. */
  received: number;
  /** Datagrams sent (in batches the node took). */
  sent: number;
  /** Batches the node took. */
  batches: number;
  /** Datagrams dropped: the queue was full, or the node could not take their batch. */
  dropped: number;
}

/** A running forwarder. */
export interface UdpForwarder {
  /** Where it listens. */
  readonly address: {
    /** Its IP address. */
    address: string;
    /** Its port (the one picked, when asked for port 0). */
    port: number;
  };
  /** Its counters, as they are now. */
  readonly counters: Readonly<UdpSendCounters>;
  /**
   * Resolves with the counters once stopped (by {@link close}) and every
   * batch was sent; rejects (and stops) when a batch cannot be sent: a lost
   * connection, say.
   */
  readonly done: Promise<UdpSendCounters>;
  /**
   * Stops listening (datagrams not read from the socket yet are dropped, as
   * UDP drops them), sends what was gathered and queued, then settles `done`.
   */
  close(): Promise<UdpSendCounters>;
}

interface Batch {
  header: BatchHeader;
  payload: Buffer;
}

function checkOptions(o: UdpSendOptions) {
  const batchMs = o.batchMs ?? 10;
  const batchBytes = o.batchBytes ?? 60_000;
  const maxQueuedBytes = o.maxQueuedBytes ?? 16 * 1024 * 1024;
  if (!(batchMs >= 0)) throw new DdmwError('BAD_PARAMS', 'batchMs must not be negative');
  // A batch is sealed after the datagram that fills it: one datagram more must still fit a batch.
  const largest = MAX_BATCH_BYTES - FRAME_HEADER - 0xffff;
  if (!Number.isInteger(batchBytes) || batchBytes < 1 || batchBytes > largest)
    throw new DdmwError('BAD_PARAMS', `batchBytes must be an integer from 1 to ${largest}`);
  if (!(maxQueuedBytes >= batchBytes))
    throw new DdmwError('BAD_PARAMS', 'maxQueuedBytes must be at least batchBytes');
  return { batchMs, batchBytes, maxQueuedBytes };
}

/** Starts forwarding datagrams taken at `options.listen` to `conn` (a sender node's message interface). */
export async function forwardUdp(conn: Connection, options: UdpSendOptions): Promise<UdpForwarder> {
  const { batchMs, batchBytes, maxQueuedBytes } = checkOptions(options);
  const listen = parseUdpAddress(options.listen);
  const socket: Socket = createSocket({ type: listen.type, recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(listen.port, listen.host, () => {
      socket.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    socket.close();
    throw new DdmwError('IO', `Cannot listen on UDP ${options.listen}: ${(err as Error).message}`, {
      cause: err,
    });
  });

  const session = randomBytes(8).toString('hex');
  const counters: UdpSendCounters = { received: 0, sent: 0, batches: 0, dropped: 0 };
  let gathering: Buffer[] = [];
  let gatheredBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let seq = 0;
  let first = 0;
  const queue: Batch[] = [];
  let queuedBytes = 0;
  let sending: Promise<void> | undefined;
  let failed: unknown;
  let closing = false;

  const seal = () => {
    clearTimeout(timer);
    timer = undefined;
    if (gathering.length === 0) return;
    const header = { session, seq: seq++, first, count: gathering.length };
    first += gathering.length;
    const payload = encodeDatagrams(gathering);
    gathering = [];
    gatheredBytes = 0;
    const full = queue.length > 0 && queuedBytes + payload.length > maxQueuedBytes;
    if (full || failed !== undefined) {
      counters.dropped += header.count;
      return;
    }
    queue.push({ header, payload });
    queuedBytes += payload.length;
    sending ??= drain().finally(() => {
      sending = undefined;
    });
  };

  const drain = async () => {
    while (queue.length > 0 && failed === undefined) {
      const batch = queue[0] as Batch;
      try {
        const meta = encodeBatchHeader(batch.header);
        const spec = { ch: options.ch, meta, payload: batch.payload };
        const xferId = await msg.send(conn, spec, { timeoutMs: options.timeoutMs });
        queue.shift();
        queuedBytes -= batch.payload.length;
        counters.batches++;
        counters.sent += batch.header.count;
        await options.ledger?.append({
          xferId,
          ch: String(options.ch),
          size: batch.payload.length,
          sha256: sha256Of(batch.payload),
          name: `udp ${session}/${batch.header.seq}`,
        });
      } catch (err) {
        failed = err;
        close().catch(() => {}); // settles `done` now (its rejection is the report)
        return;
      }
    }
  };

  socket.on('error', (err) => {
    failed ??= new DdmwError('IO', `UDP ${options.listen}: ${err.message}`, { cause: err });
    close().catch(() => {});
  });
  socket.on('message', (datagram: Buffer) => {
    counters.received++;
    gathering.push(datagram);
    gatheredBytes += FRAME_HEADER + datagram.length;
    if (gatheredBytes >= batchBytes || gathering.length === MAX_BATCH_DATAGRAMS) seal();
    else timer ??= setTimeout(seal, batchMs);
  });

  let settle: { resolve: (c: UdpSendCounters) => void; reject: (e: unknown) => void };
  const done = new Promise<UdpSendCounters>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => {}); // reported through `done`; unobserved is not an unhandled rejection
  const finish = async () => {
    while (sending) await sending;
    // Failed: the batches still queued will never be sent.
    for (const never of queue) counters.dropped += never.header.count;
    queue.length = 0;
    queuedBytes = 0;
    if (failed !== undefined) settle.reject(failed);
    else settle.resolve({ ...counters });
  };
  const close = async () => {
    if (!closing) {
      closing = true;
      socket.close();
      seal();
      await finish();
    }
    return done;
  };
  const { address, port } = socket.address();
  return { address: { address, port }, counters, done, close };
}
