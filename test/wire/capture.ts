/**
 * For comparing requests with the Rust client's transcript: a fake
 * interface that records every byte a client writes and answers each
 * request plausibly, and the canonical form (topic and parameter set) of a
 * request, decoded with the real decoder.
 */
import { PassThrough } from 'node:stream';
import { encodeTelegram, FrameReader, type ParamsInit, Telegram } from '../../src/blather/index.ts';
import { chunksOf } from '../helpers/chunks.ts';
import { type FakeServer, startFakeServer } from '../helpers/fake-server.ts';
import { LIST_KEYS } from '../vectors/rust-client-transcript.ts';

/** The token the recorder hands out and the rows' `<token>` stands for in these tests. */
export const FAKE_TOKEN = '0123456789abcdef0123456789abcdef';

/** `Ok` parameters that let each of our calls complete. */
function answer(tg: Telegram): ParamsInit {
  switch (tg.topic) {
    case 'WhoAmI':
      return { Id: 1, Name: 'frank' };
    case 'Auth':
      return tg.params.has('ReqTkn') ? { Tkn: FAKE_TOKEN } : {};
    case 'GetNodeInfo':
      return {
        'ddmw.node': 'sender',
        'ddmw.version': '1.0',
        'os.name': 'test',
        'ddmw.ddlnk.engine': 'test',
        'ddmw.ddlink.protocol': 'udp',
        'ddmw.ddlink.protimpl': 'generic',
      };
    case 'Msg':
      return { XferId: 'xfer-1' };
    case 'LsAcc':
      return { '#': 0 };
    case 'RdAcc':
      return { Id: 2, Name: 'jane', Lock: 'False', Perms: 'send' };
    default:
      return {};
  }
}

/** A fake interface recording what clients write. */
export interface Recorder {
  addr: string;
  /** Every byte received on the most recent connection. */
  lastBytes(): Buffer;
  close(): Promise<void>;
}

/**
 * Starts a recorder. Each request is answered `Ok` (see `answer`); after a
 * `Msg`, its `MetaLen` and then its `Len` bytes are read, each answered `Ok`
 * as a DDMW sender node does.
 */
export async function startRecorder(): Promise<Recorder> {
  const connections: Buffer[][] = [];
  const server: FakeServer = await startFakeServer(async ({ socket }) => {
    const chunks: Buffer[] = [];
    connections.push(chunks);
    const tee = new PassThrough();
    socket.on('data', (chunk: Buffer) => {
      chunks.push(Buffer.from(chunk));
      tee.write(chunk);
    });
    socket.on('end', () => tee.end());
    const reader = new FrameReader(tee);
    const ok = (params?: ParamsInit) => socket.write(encodeTelegram(new Telegram('Ok', params)));
    for (;;) {
      const tg = await reader.nextTelegram();
      if (!tg) return;
      ok(answer(tg));
      if (tg.topic !== 'Msg') continue;
      for (const key of ['MetaLen', 'Len']) {
        const n = Number(tg.params.get(key) ?? 0);
        if (n === 0) continue;
        await reader.skip(n);
        ok();
      }
    }
  });
  return {
    addr: server.addr,
    lastBytes: () => Buffer.concat(connections.at(-1) ?? []),
    close: () => server.close(),
  };
}

/** A request's topic and parameters, list values as sorted sets: what must match a row. */
export interface Canonical {
  topic: string;
  params: Record<string, string | string[]>;
}

/** The canonical form of a telegram. */
export function canonical(tg: Telegram): Canonical {
  const params: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(tg.params.toObject())) {
    params[key] = LIST_KEYS.has(key) ? value.split(',').sort() : value;
  }
  return { topic: tg.topic, params };
}

/**
 * Decodes the request telegram at the start of `bytes` with the real
 * decoder; returns it, its exact bytes, and the bytes after it.
 */
export async function splitRequest(
  bytes: Buffer,
): Promise<{ tg: Telegram; raw: Buffer; rest: Buffer }> {
  const reader = new FrameReader(chunksOf([bytes]));
  const tg = await reader.readTelegram();
  const end = bytes.length - reader.buffered;
  return { tg, raw: bytes.subarray(0, end), rest: bytes.subarray(end) };
}
