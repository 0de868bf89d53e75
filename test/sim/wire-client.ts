/**
 * A bare test client for the simulator: a real socket, the blather encoder
 * and a FrameReader, and nothing of the client library.
 */
import { connect, type Socket } from 'node:net';
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
