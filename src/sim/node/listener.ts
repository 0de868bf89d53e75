/**
 * One listening client interface (such as the sender's msgif): a TCP or
 * Unix socket server that starts a {@link Session} per connection and keeps
 * track of them, so that closing the interface also closes its connections.
 * It keeps at most `maxConnections` open: at the limit, a new connection
 * takes the place of the oldest one not logged in (which is closed), or is
 * closed at once when every one is logged in or checking a passphrase (a
 * flood of new connections must not close each login before it is done).
 * A failed accept (EMFILE: out of file descriptors) is logged, and the
 * interface keeps listening.
 */
import { lstat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { DdmwError } from '../../err.ts';
import { UNAUTHENTICATED } from '../accounts/accounts.ts';
import { RefusalLog } from './refusal-log.ts';
import { type CommandTable, type Logger, Session, type SessionTimeouts } from './session.ts';

/** Where an interface listens. */
export type Endpoint = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** How an interface is set up. */
export interface ListenerOptions {
  /** The address to listen on. */
  endpoint: Endpoint;
  /** The commands the interface answers. */
  commands: CommandTable;
  /** Names the interface in replies, e.g. `the sender node's msgif`. */
  interfaceName: string;
  /** Prefixes log lines, e.g. `sender/msgif`; sessions add `#<n>`. */
  label: string;
  /** Where log lines go; `undefined` for no logging. */
  log: Logger | undefined;
  /** Connections kept open at most; beyond, a new one is closed at once. */
  maxConnections: number;
  /** When sessions close their connection for lack of progress. */
  timeouts: SessionTimeouts;
  /** Called for every connection closed at once because {@link maxConnections} were open, logged in or checking a passphrase. */
  onRefused: () => void;
  /** Called for every connection not logged in that was closed to make room for a new one. */
  onEvicted: () => void;
}

/** True when something accepts connections on the Unix socket at `path`. */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Removes a Unix socket file left behind by a process that died without
 * closing it. Anything else at `path` (a live socket, a regular file) is
 * left alone, and listening then fails with `EADDRINUSE`.
 */
async function removeStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (info?.isSocket() && !(await socketInUse(path))) await unlink(path);
}

function listen(server: Server, endpoint: Endpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const where =
      endpoint.kind === 'tcp'
        ? { host: endpoint.host, port: endpoint.port }
        : { path: endpoint.path };
    server.listen(where, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function formatEndpoint(endpoint: Endpoint): string {
  if (endpoint.kind === 'unix') return endpoint.path;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}`;
}

/** A listening interface and its open sessions. */
export class InterfaceListener {
  /** The client address: `host:port` (`[v6]:port`) or the Unix socket path. */
  readonly address: string;
  /** Where it listens, with the port the system picked filled in. */
  readonly #bound: Endpoint;
  readonly #server: Server;
  readonly #options: ListenerOptions;
  /** Each open session and the promise of its request loop. */
  readonly #sessions = new Map<Session, Promise<void>>();
  #connections = 0;
  readonly #refusals: RefusalLog;
  #closed: Promise<void> | undefined;

  private constructor(server: Server, bound: Endpoint, options: ListenerOptions) {
    this.#server = server;
    this.#bound = bound;
    this.address = formatEndpoint(bound);
    this.#options = options;
    this.#refusals = new RefusalLog((line) => options.log?.(`${options.label} ${line}`));
    server.on('connection', (socket) => this.#accept(socket));
    // After listening, errors come from accepting a connection; the server keeps listening.
    server.on('error', (err) => this.#refusals.refused(`accept failed: ${err.message}`));
  }

  /** Starts listening. Throws `IO` when the address cannot be bound. */
  static async open(options: ListenerOptions): Promise<InterfaceListener> {
    const { endpoint } = options;
    // Half-open: a client may send its last request and shut down its side before reading the replies.
    const server = createServer({ allowHalfOpen: true });
    try {
      if (endpoint.kind === 'unix') await removeStaleSocket(endpoint.path);
      await listen(server, endpoint);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      throw new DdmwError(
        'IO',
        `Cannot listen on ${formatEndpoint(endpoint)} for ${options.interfaceName}: ${text}`,
        { cause: err },
      );
    }
    const address = server.address();
    const bound =
      endpoint.kind === 'tcp' && address !== null && typeof address === 'object'
        ? { ...endpoint, port: address.port }
        : endpoint;
    options.log?.(`${options.label} listening on ${formatEndpoint(bound)}`);
    return new InterfaceListener(server, bound, options);
  }

  /**
   * Opens a new listener on the same address (the same port, even one the
   * system picked, or the same socket path) with the same commands. Used
   * after {@link close} to bring an interface back.
   */
  reopen(): Promise<InterfaceListener> {
    return InterfaceListener.open({ ...this.#options, endpoint: this.#bound });
  }

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const { commands, interfaceName, label, log, maxConnections, timeouts } = this.#options;
    if (this.#sessions.size >= maxConnections && !this.#makeRoom(maxConnections)) {
      socket.destroy();
      this.#options.onRefused();
      this.#refusals.refused(
        `${maxConnections} connections open, logged in or checking a passphrase, the limit`,
      );
      return;
    }
    this.#refusals.accepted();
    socket.setNoDelay(true); // request/reply traffic: send each reply at once
    const session = new Session(socket, {
      commands,
      interfaceName,
      label: `${label}#${++this.#connections}`,
      log,
      timeouts,
    });
    session.log(
      socket.remoteAddress
        ? `connected from ${socket.remoteAddress}:${socket.remotePort}`
        : 'connected',
    );
    const done = session.run().then(() => {
      this.#sessions.delete(session);
      session.log('closed');
    });
    this.#sessions.set(session, done);
  }

  /**
   * At the limit: true when a connection is closing already, or once the
   * oldest one not logged in has been closed; false when all are logged in
   * or checking a passphrase.
   */
  #makeRoom(maxConnections: number): boolean {
    let open = 0;
    let oldestStranger: Session | undefined;
    for (const session of this.#sessions.keys()) {
      if (session.socket.destroyed) continue;
      open++;
      if (session.account.id === UNAUTHENTICATED.id && !session.checkingPassword) {
        oldestStranger ??= session;
      }
    }
    if (open < maxConnections) return true;
    if (!oldestStranger) return false;
    oldestStranger.log(`closing: not logged in, and a new connection needs its place`);
    this.#options.onEvicted();
    oldestStranger.close();
    return true;
  }

  /** Stops listening, closes every open connection and waits for their sessions to end. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      const running = [...this.#sessions.values()];
      for (const session of this.#sessions.keys()) session.close();
      await Promise.all([stopped, ...running]);
    })();
    return this.#closed;
  }
}
