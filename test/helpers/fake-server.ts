/**
 * A scripted fake DDMW interface for fault injection: each accepted
 * connection is handed to a script that can read requests with the real
 * codec and answer with exact bytes, hang, drop the connection or send
 * garbage. Used in addition to the simulator, never instead of it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { FrameReader } from '../../src/blather/index.ts';

/** What a script gets for each connection. */
export interface FakeConn {
  socket: Socket;
  /** A decoder over the socket, made on first use (a script may read 'data' events instead). */
  readonly reader: FrameReader;
}

export interface FakeServer {
  addr: string;
  /** Number of connections accepted so far. */
  readonly accepted: number;
  /** Resolves when every accepted socket has closed. */
  allClosed(): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeServer(
  script: (conn: FakeConn) => Promise<void> | void,
): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const closedPromises: Promise<void>[] = [];
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    closedPromises.push(
      new Promise((resolve) =>
        socket.once('close', () => {
          sockets.delete(socket);
          resolve();
        }),
      ),
    );
    Promise.resolve()
      .then(() => {
        let reader: FrameReader | undefined;
        return script({
          socket,
          get reader() {
            reader ??= new FrameReader(socket);
            return reader;
          },
        });
      })
      .catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    addr: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    allClosed: () => Promise.all(closedPromises).then(() => {}),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `bytes`, then ends the connection. */
export function writeAndEnd(socket: Socket, bytes: Uint8Array | string): Promise<void> {
  return new Promise((resolve) => socket.end(bytes, resolve));
}

/** A script that reads requests and never answers (it notices when the client goes away). */
export async function hang({ socket, reader }: FakeConn): Promise<void> {
  try {
    while (await reader.nextTelegram());
  } catch {
    // the client went away mid-request
  }
  socket.destroy();
}
