/**
 * A bare test client for the simulator: a real socket, the blather encoder
 * and a FrameReader, and nothing of the client library.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before } from 'node:test';
import { encodeTelegram, FrameReader, type ParamsInit, Telegram } from '../../src/blather/index.ts';

/** A connection to one simulator interface. */
export interface WireClient {
  socket: Socket;
  reader: FrameReader;
  /** Writes a request without waiting for the reply. */
  send(topic: string, params?: ParamsInit): void;
  /** Writes a request and reads the next telegram. */
  request(topic: string, params?: ParamsInit): Promise<Telegram>;
  /** The next telegram, or `undefined` when the server closed the connection. */
  next(): Promise<Telegram | undefined>;
  /** Resolves when the socket is fully closed. */
  closed: Promise<void>;
}

/** Connects to `host:port` or a Unix socket path (anything containing `/`). */
export function connectTo(address: string): Promise<WireClient> {
  const colon = address.lastIndexOf(':');
  const socket = address.includes('/')
    ? connect(address)
    : connect(Number(address.slice(colon + 1)), address.slice(0, colon));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {}); // resets are expected in some tests; 'close' follows
  const reader = new FrameReader(socket);
  const client: WireClient = {
    socket,
    reader,
    send(topic, params) {
      socket.write(encodeTelegram(new Telegram(topic, params)));
    },
    async request(topic, params) {
      client.send(topic, params);
      return reader.readTelegram();
    },
    next: () => reader.nextTelegram(),
    closed,
  };
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(client));
    socket.once('error', reject);
  });
}

/** Sends a request and checks that the reply is `Ok`; returns its params as an object. */
export async function expectOk(
  client: WireClient,
  topic: string,
  params?: ParamsInit,
): Promise<Record<string, string>> {
  const reply = await client.request(topic, params);
  if (reply.topic !== 'Ok') throw new Error(`${topic}: expected Ok, got ${reply}`);
  return reply.params.toObject();
}

/** Sends a request and checks that the reply is `Fail`; returns its `Reason`. */
export async function expectFail(
  client: WireClient,
  topic: string,
  params?: ParamsInit,
): Promise<string> {
  const reply = await client.request(topic, params);
  if (reply.topic !== 'Fail') throw new Error(`${topic}: expected Fail, got ${reply}`);
  return reply.params.getStr('Reason');
}

/** A message to send with {@link sendMsg}. */
export interface OutMsg {
  ch: string | number;
  cmd?: number;
  meta?: Uint8Array;
  payload?: Uint8Array;
}

/**
 * Sends a message on a sender msgif connection the way a DDMW client does:
 * `Msg`, then the metadata and the payload, each answered `Ok`. Returns the
 * XferId. Throws when any reply is not `Ok`.
 */
export async function sendMsg(client: WireClient, msg: OutMsg): Promise<string> {
  const params: Record<string, string | number> = { _Ch: String(msg.ch) };
  if (msg.cmd) params.Cmd = msg.cmd;
  if (msg.meta?.length) params.MetaLen = msg.meta.length;
  if (msg.payload?.length) params.Len = msg.payload.length;
  const xferId = (await expectOk(client, 'Msg', params)).XferId;
  if (!xferId) throw new Error('Msg: Ok without XferId');
  for (const part of [msg.meta, msg.payload]) {
    if (!part?.length) continue;
    client.socket.write(part);
    const reply = await client.reader.readTelegram();
    if (reply.topic !== 'Ok') throw new Error(`Msg part: expected Ok, got ${reply}`);
  }
  return xferId;
}

/** A message as a subscriber or push target received it: its telegram and digests of its parts. */
export interface InMsg {
  /** Every parameter of the `Msg` telegram. */
  params: Record<string, string>;
  /** sha-256 (hex) of the metadata bytes. */
  metaSha: string;
  /** sha-256 (hex) of the payload bytes. */
  payloadSha: string;
}

async function digestOf(reader: FrameReader, n: number): Promise<string> {
  const hash = createHash('sha256');
  await reader.readChunks(n, (chunk) => {
    hash.update(chunk);
  });
  return hash.digest('hex');
}

/**
 * Reads one pushed message: a `Msg` telegram, then MetaLen and Len bytes.
 * Returns `undefined` when the connection ends first; throws when the next
 * telegram is not `Msg` (its text is in the error).
 */
export async function readMsg(client: WireClient): Promise<InMsg | undefined> {
  const tg = await client.reader.nextTelegram();
  if (!tg) return undefined;
  if (tg.topic !== 'Msg') throw new Error(`expected Msg, got ${tg}`);
  const params = tg.params.toObject();
  const metaSha = await digestOf(client.reader, Number(params.MetaLen));
  const payloadSha = await digestOf(client.reader, Number(params.Len));
  return { params, metaSha, payloadSha };
}

/** Registers hooks that fail the file's tests if any promise rejection went unhandled. */
export function failOnUnhandledRejections(): void {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, [], 'no unhandled promise rejections');
  });
}

/** An account to log in with. */
export interface Login {
  name: string;
  pass: string;
}

/** The wire clients a test opens, destroyed together when it is done. */
export class WireClients {
  readonly #all: WireClient[] = [];

  /** Connects to `address`, and logs in when `login` is given. */
  async open(address: string, login?: Login): Promise<WireClient> {
    const client = await connectTo(address);
    this.#all.push(client);
    if (login) await expectOk(client, 'Auth', { AccName: login.name, Pass: login.pass });
    return client;
  }

  /** Connects to a subscription interface, logs in and subscribes to `ch`. */
  async subscriber(address: string, ch: string | number, login: Login): Promise<WireClient> {
    const client = await this.open(address, login);
    await expectOk(client, 'Sub', { Ch: String(ch) });
    return client;
  }

  /** Destroys every client opened so far. */
  destroyAll(): void {
    for (const client of this.#all.splice(0)) client.socket.destroy();
  }
}
