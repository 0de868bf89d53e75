/**
 * DDMW to UDP: each batch received (batch.ts) is sent on as its datagrams,
 * in order, to one UDP address. Batch and datagram numbers show what was
 * lost on the way (counted from the first batch seen of a sending run:
 * what came before the receiver started is not a loss), and a batch seen
 * again or late is dropped. A message that is not a valid batch is
 * refused and reported; the next one is received.
 */
import { createSocket } from 'node:dgram';
import { type Connection, DdmwError, msg } from '../../index.ts';
import type { Ledger } from '../ledger/index.ts';
import { sha256Of } from '../ledger/index.ts';
import { parseUdpAddress } from './address.ts';
import { type BatchHeader, decodeBatchHeader, decodeDatagrams } from './batch.ts';

/** Largest batch payload received (16 MiB): more is refused before it is read. */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

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
}

const batchStoreq: msg.StoreQ = () => ({ meta: 'params', payload: 'bytes' });

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
  const counters: UdpReceiveCounters = {
    batches: 0,
    datagrams: 0,
    lostBatches: 0,
    lostDatagrams: 0,
    duplicates: 0,
    refused: 0,
  };
  const refuse = (xferId: string | undefined, error: DdmwError) => {
    counters.refused++;
    options.onEvent?.({ type: 'refused', xferId, error });
  };
  const emit = (d: Buffer) =>
    new Promise<void>((resolve, reject) =>
      socket.send(d, to.port, to.host, (err) => (err ? reject(err) : resolve())),
    );
  let expected: { session: string; seq: number; first: number } | undefined;
  const loop = {
    storeq: batchStoreq,
    maxBuffered: MAX_BATCH_BYTES,
    signal: options.signal,
    onSkipped: (error: msg.MsgError) => refuse(error.xferId, error),
  };
  try {
    for await (const m of msg.messages(conn, loop)) {
      let header: BatchHeader;
      let datagrams: Buffer[];
      const payload = m.payload?.kind === 'bytes' ? m.payload.bytes : Buffer.alloc(0);
      try {
        if (m.meta?.kind !== 'params')
          throw new DdmwError('BAD_INPUT', 'Not a UDP batch: no params metadata');
        header = decodeBatchHeader(m.meta.params);
        datagrams = decodeDatagrams(payload, header.count);
      } catch (err) {
        if (!(err instanceof DdmwError)) throw err;
        refuse(m.xferId, err);
        continue;
      }
      if (expected?.session !== header.session) {
        options.onEvent?.({ type: 'session', session: header.session });
      } else if (header.seq < expected.seq) {
        counters.duplicates++;
        continue;
      } else if (header.seq > expected.seq) {
        const lost = {
          batches: header.seq - expected.seq,
          datagrams: header.first - expected.first,
        };
        counters.lostBatches += lost.batches;
        counters.lostDatagrams += lost.datagrams;
        options.onEvent?.({ type: 'lost', ...lost });
      }
      expected = {
        session: header.session,
        seq: header.seq + 1,
        first: header.first + header.count,
      };
      for (const d of datagrams) await emit(d);
      counters.batches++;
      counters.datagrams += datagrams.length;
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
