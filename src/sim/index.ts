/**
 * ddmw-client/sim: an embedded DDMW node simulator, so that DDMW
 * applications can be tested without a data diode. It runs a sender node
 * and a receiver node in this process, each listening on its client
 * interfaces over TCP or Unix sockets, speaking the blather wire protocol.
 * Messages sent to the sender node cross a one-way UDP link on loopback to
 * the receiver node, which delivers them to subscribers and push targets.
 *
 * ```ts
 * import { startSimulator } from 'ddmw-client/sim';
 * const sim = await startSimulator({ accounts: [{ name: 'frank', pass: 'secret' }] });
 * // connect clients to sim.sender.msgif, sim.receiver.subif, ...
 * await sim.close();
 * ```
 *
 * See docs/simulator.md for the commands and the behaviour it assumes.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DdmwError } from '../err.ts';
import type { AccountStore, SimAccount } from './accounts/accounts.ts';
import { LoginGuard } from './accounts/login-guard.ts';
import { openAccountStore } from './accounts/state-file.ts';
import type { SimulatorEvents } from './events.ts';
import { type LimitOptions, type Limits, limitSettings } from './limits.ts';
import { startLink } from './link/link.ts';
import type { LinkOptions } from './link/settings.ts';
import { LossReporter } from './loss-reports.ts';
import type { Endpoint } from './node/listener.ts';
import { type InterfaceName, type NodeType, SimNode } from './node/node.ts';
import type { Logger } from './node/session.ts';
import { Spool } from './node/spool.ts';
import { SpoolSpace } from './node/spool-space.ts';
import { type FlowSettings, flowSettings, type PushOptions } from './options.ts';
import { Delivery } from './receiver/delivery.ts';
import { PushTarget } from './receiver/push.ts';
import { subCommand } from './receiver/subif.ts';
import { msgCommand } from './sender/msgif.ts';
import { strmCommand } from './sender/strmif.ts';
import { newStats, type SimulatorStats } from './stats.ts';

export type { SimAccount } from './accounts/accounts.ts';
export type { LinkStateEvent, LossEvent, LossKind, SimulatorEvents } from './events.ts';
export { describeLoss } from './events.ts';
export type { LimitOptions } from './limits.ts';
export type {
  BurstModel,
  DatagramInfo,
  LinkDownWindow,
  LinkFault,
  LinkFaults,
  LinkOptions,
  LinkTransport,
} from './link/settings.ts';
export type { PushOptions } from './options.ts';
export type { SimulatorStats } from './stats.ts';

/** Options of {@link startSimulator}. Every field is optional. */
export interface SimulatorOptions {
  /** Host (IP address or name) the TCP interfaces listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port of each interface. Default 0: the operating system picks a free port. */
  ports?: {
    /** Port of the sender node's message interface (`msgif`). */
    senderMsgif?: number;
    /** Port of the sender node's management interface (`mgmtif`). */
    senderMgmtif?: number;
    /** Port of the receiver node's subscription interface (`subif`). */
    receiverSubif?: number;
    /** Port of the receiver node's management interface (`mgmtif`). */
    receiverMgmtif?: number;
  };
  /**
   * When set, every interface listens on a Unix socket in this folder
   * (`sender-msgif.sock`, `sender-mgmtif.sock`, `receiver-subif.sock`,
   * `receiver-mgmtif.sock`) instead of TCP. `ports` may not be given then.
   */
  unixSocketDir?: string;
  /** The accounts clients can log in as. Ids are 1, 2, ... in this order. Names must be unique. */
  accounts?: SimAccount[];
  /**
   * Keeps the accounts in this JSON file (scrypt hashes only, mode 0600,
   * rewritten atomically after every account change). When the file exists
   * at start it is loaded and `accounts` is ignored; otherwise the store is
   * seeded from `accounts` and the file written. Tokens are not kept.
   */
  stateFile?: string;
  /** Reported by `GetNodeInfo` as `ddmw.version`. Default: the package version, or `0.1.0-sim`. */
  version?: string;
  /** Receives log lines (connections, requests, replies; secrets redacted). Default: no logging. */
  log?: (line: string) => void;
  /** The one-way link between the nodes: pace, datagram size, loss timeout, fault injection. */
  link?: LinkOptions;
  /** Most messages waiting for one subscriber or push target. Default 10000. */
  queueLimit?: number;
  /**
   * Most bytes (metadata + payload, in memory or spooled) of the messages
   * waiting for one subscriber or push target, not counting the one being
   * written; a message that finds nothing waiting is taken whatever its
   * size. Beyond it a subscriber is disconnected as too slow and a push
   * target drops the message. Default 256 MiB.
   */
  queueLimitBytes?: number;
  /** Push targets: the receiver node pushes each message of `ch` to the application at `addr`. */
  push?: PushOptions[];
  /** Wait before a push target is connected again after a failure. Default 500 ms. */
  pushReconnectDelayMs?: number;
  /**
   * What the nodes put up with from clients: connections per interface,
   * time to log in, stalled requests, passphrase checks and failed logins,
   * message sizes and the spool's free space (see docs/simulator.md, Limits).
   */
  limits?: LimitOptions;
}

/**
 * A running simulator. It is an `EventEmitter` of {@link SimulatorEvents}:
 * `sim.on('loss', (e) => ...)` gets every transfer that was lost, corrupt,
 * aborted or discarded, `sim.on('link', (e) => ...)` every change of the
 * link's state.
 */
export interface Simulator extends EventEmitter<SimulatorEvents> {
  /** Client addresses of the sender node: `host:port` or a Unix socket path. */
  sender: {
    /** Address of the message interface, where applications send messages. */
    msgif: string;
    /** Address of the management interface. */
    mgmtif: string;
  };
  /** Client addresses of the receiver node: `host:port` or a Unix socket path. */
  receiver: {
    /** Address of the subscription interface, where applications receive messages. */
    subif: string;
    /** Address of the management interface. */
    mgmtif: string;
  };
  /** A copy of the message counters. */
  stats(): SimulatorStats;
  /**
   * Restarts the receiver node: closes its interfaces and every connection
   * to them (subscribers see the end of the stream), waits `downMs`, and
   * listens again on the same addresses. Messages arriving meanwhile are
   * dropped. Rejects `BAD_STATE` after `close()`, `IO` when an address
   * cannot be bound again.
   */
  restartReceiver(downMs?: number): Promise<void>;
  /** Closes every listener and every open connection, stops the link and removes the spool files. Idempotent. */
  close(): Promise<void>;
}

const FALLBACK_VERSION = '0.1.0-sim';

type PortKey = keyof NonNullable<SimulatorOptions['ports']>;

/** The `ports` option key of each interface. */
const PORT_KEYS: { [T in NodeType]: Record<InterfaceName<T>, PortKey> } = {
  sender: { msgif: 'senderMsgif', mgmtif: 'senderMgmtif' },
  receiver: { subif: 'receiverSubif', mgmtif: 'receiverMgmtif' },
};

/** The version of this package, read from its package.json (two levels up in both src/ and dist/). */
async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
    const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (pkg.name === 'ddmw-client' && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Bundled or relocated: fall back below.
  }
  return FALLBACK_VERSION;
}

function checkPorts(ports: SimulatorOptions['ports']): void {
  for (const [key, port] of Object.entries(ports ?? {})) {
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
      throw new DdmwError(
        'BAD_INPUT',
        `Simulator option ports.${key} must be an integer from 0 to 65535, got ${port}`,
      );
    }
  }
}

/** Wraps the user's logger so that one that throws cannot break a connection. */
function safeLogger(log: SimulatorOptions['log']): Logger | undefined {
  if (!log) return undefined;
  return (line) => {
    try {
      log(line);
    } catch {
      // Logging is best effort.
    }
  };
}

/** Stops one running part of the simulator. */
type Stopper = () => Promise<void>;

/** What {@link startParts} needs. */
interface PartsContext {
  flow: FlowSettings;
  limits: Limits;
  stats: SimulatorStats;
  log: Logger | undefined;
  accounts: AccountStore;
  version: string;
  endpointOf: <T extends NodeType>(type: T) => (iface: InterfaceName<T>) => Endpoint;
  reports: LossReporter;
  onLinkState: (state: 'up' | 'down', reason: string) => void;
}

/** The running parts the returned {@link Simulator} talks to. */
interface Parts {
  delivery: Delivery;
  sender: SimNode<'sender'>;
  receiver: SimNode<'receiver'>;
}

/**
 * Starts the parts of a simulator in dependency order: spool, receiver
 * node's router and push targets, the link's receiving end, its sending
 * end, the sender node, the receiver node. Each started part pushes its
 * stopper onto `running`, so the caller can stop them in reverse order.
 */
async function startParts(ctx: PartsContext, running: Stopper[]): Promise<Parts> {
  const { flow, limits, stats, log } = ctx;
  const spool = await Spool.create(log);
  running.push(() => spool.close());
  log?.(`spool folder ${spool.dir}`);
  const { queueLimit, queueLimitBytes } = flow;
  const outlets = { queueLimit, queueLimitBytes, stats, log };
  const delivery = new Delivery({
    ...outlets,
    onDiscard: (d) => ctx.reports.report(d.number, d.kind, d.reason),
  });
  running.push(() => delivery.close());
  const stopRechecks = ctx.accounts.onChange((account, why) => delivery.recheck(account, why));
  running.push(async () => stopRechecks());
  for (const target of flow.push) {
    delivery.addPushTarget(
      new PushTarget({ ...outlets, ...target, reconnectDelayMs: flow.pushReconnectDelayMs }),
    );
  }
  const { sender: link, close: closeLink } = await startLink({
    settings: flow.link,
    spoolDir: spool.dir,
    stats,
    log,
    reports: ctx.reports,
    onTransfer: (transfer) => delivery.arrive(transfer),
    onLinkState: ctx.onLinkState,
  });
  running.push(closeLink);
  const common = {
    accounts: ctx.accounts,
    logins: new LoginGuard({ accounts: ctx.accounts, limits, stats }),
    connections: {
      maxConnections: limits.maxConnections,
      timeouts: {
        loginMs: limits.loginTimeoutMs,
        stallMs: limits.stallTimeoutMs,
        onTimeout: () => stats.connectionsTimedOut++,
      },
      onRefused: () => stats.connectionsRefused++,
      onEvicted: () => stats.connectionsEvicted++,
    },
    version: ctx.version,
    log,
  };
  const msgif = {
    link,
    stats,
    maxMessageBytes: Math.min(limits.maxMessageBytes, flow.link.maxTransferBytes),
    space: new SpoolSpace(spool.dir, limits.spoolMinFreeBytes),
  };
  const sender = await SimNode.start({
    ...common,
    type: 'sender',
    endpoint: ctx.endpointOf('sender'),
    commands: {
      msgif: [
        ['Msg', msgCommand(msgif)],
        ['Strm', strmCommand({ link, stats })],
      ],
    },
  });
  running.push(() => sender.close());
  const receiver = await SimNode.start({
    ...common,
    type: 'receiver',
    endpoint: ctx.endpointOf('receiver'),
    commands: { subif: [['Sub', subCommand(delivery)]] },
  });
  running.push(() => receiver.close());
  return { delivery, sender, receiver };
}

/**
 * Starts a simulator: a sender node and a receiver node listening on their
 * client interfaces, joined by a one-way link. Throws `BAD_INPUT` for bad
 * accounts (duplicate names), a corrupt state file, ports or message-flow
 * options, `IO` when the state file cannot be read or written, `BAD_PARAMS`
 * for `ports` together with `unixSocketDir`, and `IO` when an interface
 * cannot listen.
 */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const socketDir = opts.unixSocketDir === undefined ? undefined : resolve(opts.unixSocketDir);
  if (socketDir !== undefined && opts.ports !== undefined) {
    throw new DdmwError(
      'BAD_PARAMS',
      'Simulator options ports and unixSocketDir exclude each other: give one',
    );
  }
  checkPorts(opts.ports);
  const flow = flowSettings(opts);
  const limits = limitSettings(opts.limits);
  const log = safeLogger(opts.log);
  const accounts = await openAccountStore(opts.accounts ?? [], opts.stateFile, log);
  const version = opts.version ?? (await packageVersion());
  const stats = newStats();

  const endpointOf =
    <T extends NodeType>(type: T) =>
    (iface: InterfaceName<T>): Endpoint => {
      if (socketDir !== undefined)
        return { kind: 'unix', path: join(socketDir, `${type}-${iface}.sock`) };
      const key: PortKey = PORT_KEYS[type][iface];
      return { kind: 'tcp', host, port: opts.ports?.[key] ?? 0 };
    };

  /** What to stop on close (or when startup fails), in reverse order. */
  const running: Stopper[] = [];
  const stopAll = async () => {
    for (const stop of running.splice(0).reverse()) await stop();
  };
  const events = new EventEmitter<SimulatorEvents>();
  const reports = new LossReporter(events, log);
  const onLinkState = (state: 'up' | 'down', reason: string) => {
    try {
      events.emit('link', { state, reason });
    } catch (err) {
      log?.(`a 'link' listener threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  let parts: Parts;
  try {
    parts = await startParts(
      { flow, limits, stats, log, accounts, version, endpointOf, reports, onLinkState },
      running,
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
  const { delivery, sender, receiver } = parts;

  let closed: Promise<void> | undefined;
  return Object.assign(events, {
    sender: { msgif: sender.addresses.msgif, mgmtif: sender.addresses.mgmtif },
    receiver: { subif: receiver.addresses.subif, mgmtif: receiver.addresses.mgmtif },
    stats: () => ({ ...stats }),
    async restartReceiver(downMs = 0) {
      if (!(typeof downMs === 'number' && downMs >= 0 && Number.isFinite(downMs))) {
        throw new DdmwError(
          'BAD_INPUT',
          `restartReceiver: downMs must be 0 or more, got ${downMs}`,
        );
      }
      if (closed) throw new DdmwError('BAD_STATE', 'restartReceiver: the simulator is closed');
      delivery.suspend();
      try {
        log?.(`receiver: restarting (down for ${downMs} ms)`);
        await receiver.restart(downMs);
      } finally {
        delivery.resume();
      }
    },
    close() {
      closed ??= stopAll();
      return closed;
    },
  });
}
