/**
 * DDMW to UDP: each batch received (batch.ts) is sent on as its datagrams,
 * in order, to one UDP address. Batch and datagram numbers show what was
 * lost on the way, for each sending run (counted from the first batch seen
 * of it: what came before the receiver started is not a loss), and a batch
 * seen again or late is dropped. A message that is not a valid batch (bad
 * numbers, frames that do not add up, a datagram too large to send on) is
 * refused and reported; the next one is received. The numbers are only as
 * honest as the senders on the channel: any of them can send batches, so
 * the channel's send permission is what protects the stream.
 */
import { createSocket } from 'node:dgram';
import { type Connection, DdmwError, msg } from '../../index.ts';
import type { Ledger } from '../ledger/index.ts';
import { sha256Of } from '../ledger/index.ts';
import { parseUdpAddress } from './address.ts';
import {
  type BatchHeader,
  checkDatagrams,
  datagramsOf,
  decodeBatchHeader,
  MAX_BATCH_BYTES,
  MAX_DATAGRAM,
} from './batch.ts';

/** Options of {@link emitUdp}. */
export interface UdpReceiveOptions {
  /** Where to send the datagrams: `host:port`. */
  to: string;
  /** Ends the loop (quietly) and closes the connection. */
  signal?: AbortSignal;
  /** A line is appended for each batch received. */
  ledger?: Ledger;
  /** Told about losses, refusals and new sending runs. */
  onEvent?: (event: UdpReceiveEvent) => void;
}

/** Something worth telling about the batches. */
export type UdpReceiveEvent =
  | {
      /** Batches (and their datagrams) never arrived. */
      type: 'lost';
      /** Batches lost. */
      batches: number;
      /** Datagrams lost. */
      datagrams: number;
    }
  | {
      /** A message that is not a valid batch: nothing of it was sent on. */
      type: 'refused';
      /** Its transfer id. */
      xferId: string | undefined;
      /** Why. */
      error: DdmwError;
    }
  | {
      /** The first batch of a sending run. */
      type: 'session';
      /** The run. */
      session: string;
    };

/** Counters of the receiving end. */
export interface UdpReceiveCounters {
  /** Batches sent on. */
  batches: number;
  /** Datagrams sent on. */
  datagrams: number;
  /** Batches lost on the way. */
  lostBatches: number;
  /** Datagrams lost on the way. */
  lostDatagrams: number;
  /** Batches seen again or late, dropped. */
  duplicates: number;
  /** Messages refused. */
  refused: number;
  /** Datagrams the system would not send on (the destination refused them, say). */
  sendErrors: number;
}

const batchStoreq: msg.StoreQ = () => ({ meta: 'params', payload: 'bytes' });

/** Sending runs whose numbering is followed at once (more: the oldest is forgotten). */
const MAX_SESSIONS = 64;

/** Where a sending run is expected to go on: its next batch and datagram numbers. */
interface Expected {
  seq: number;
  first: number;
}

/**
 * What a batch means for its session's numbering: `new` (first seen),
 * `next`, `gap` (batches lost before it), `old` (seen or passed already);
 * `BAD_INPUT` when its numbers contradict the session's (fewer datagrams
 * lost than batches, numbers going back).
 */
function placeBatch(expected: Expected | undefined, h: BatchHeader) {
  if (!expected) return { kind: 'new' as const };
  if (h.seq < expected.seq) return { kind: 'old' as const };
  const batches = h.seq - expected.seq;
  const datagrams = h.first - expected.first;
  if (batches === 0 ? datagrams !== 0 : datagrams < batches) {
    throw new DdmwError(
      'BAD_INPUT',
      `Not a valid UDP batch: batch ${h.seq} of session ${h.session} starts at datagram ${h.first}, before the ${batches} batches missing since ${expected.seq} could have held one each`,
    );
  }
  return batches === 0 ? { kind: 'next' as const } : { kind: 'gap' as const, batches, datagrams };
}

/**
 * Sends the datagrams of the batches received on `conn` (subscribed
 * already) to `options.to`, until `signal` aborts; resolves with the
 * counters then. A lost connection rejects.
 */
export async function emitUdp(
  conn: Connection,
  options: UdpReceiveOptions,
): Promise<UdpReceiveCounters> {
  const to = parseUdpAddress(options.to);
  const socket = createSocket(to.type);
  socket.on('error', () => {}); // a failed send is reported to its callback and counted
  // Connected once: the destination is resolved once, not for every datagram.
  await new Promise<void>((resolve, reject) => {
    socket.connect(to.port, to.host, (err?: Error) => (err ? reject(err) : resolve()));
  }).catch((err: unknown) => {
    socket.close();
    throw new DdmwError('IO', `Cannot send to UDP ${options.to}: ${(err as Error).message}`, {
      cause: err,
    });
  });
  const counters: UdpReceiveCounters = {
    batches: 0,
    datagrams: 0,
    lostBatches: 0,
    lostDatagrams: 0,
    duplicates: 0,
    refused: 0,
    sendErrors: 0,
  };
  const refuse = (xferId: string | undefined, error: DdmwError) => {
    counters.refused++;
    options.onEvent?.({ type: 'refused', xferId, error });
  };
  const emit = (d: Buffer) =>
    new Promise<void>((resolve) =>
      socket.send(d, (err) => {
        if (err) counters.sendErrors++;
        else counters.datagrams++;
        resolve();
      }),
    );
  const sessions = new Map<string, Expected>();
  const loop = {
    storeq: batchStoreq,
    maxBuffered: MAX_BATCH_BYTES,
    signal: options.signal,
    onSkipped: (error: msg.MsgError) => refuse(error.xferId, error),
  };
  try {
    for await (const m of msg.messages(conn, loop)) {
      const payload = m.payload?.kind === 'bytes' ? m.payload.bytes : Buffer.alloc(0);
      let header: BatchHeader;
      let place: ReturnType<typeof placeBatch>;
      try {
        if (m.meta?.kind !== 'params')
          throw new DdmwError('BAD_INPUT', 'Not a UDP batch: no params metadata');
        header = decodeBatchHeader(m.meta.params);
        checkDatagrams(payload, header.count, MAX_DATAGRAM[to.type]);
        place = placeBatch(sessions.get(header.session), header);
      } catch (err) {
        if (!(err instanceof DdmwError)) throw err;
        refuse(m.xferId, err);
        continue;
      }
      if (place.kind === 'old') {
        counters.duplicates++;
        continue;
      }
      if (place.kind === 'new') options.onEvent?.({ type: 'session', session: header.session });
      if (place.kind === 'gap') {
        counters.lostBatches += place.batches;
        counters.lostDatagrams += place.datagrams;
        options.onEvent?.({ type: 'lost', batches: place.batches, datagrams: place.datagrams });
      }
      sessions.delete(header.session); // re-inserted last: the map keeps the latest sessions
      sessions.set(header.session, { seq: header.seq + 1, first: header.first + header.count });
      if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
      for (const d of datagramsOf(payload)) await emit(d);
      counters.batches++;
      if (options.ledger && m.xferId !== undefined) {
        const entry = { xferId: m.xferId, ch: m.ch ?? '', size: payload.length };
        const name = `udp ${header.session}/${header.seq}`;
        await options.ledger.append({ ...entry, sha256: sha256Of(payload), name });
      }
    }
  } finally {
    socket.close();
  }
  return counters;
}
