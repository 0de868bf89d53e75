/**
 * ddmw-client/sim: an embedded DDMW node simulator, so that DDMW
 * applications can be tested without a data diode. It runs a sender node
 * and a receiver node in this process, each listening on its client
 * interfaces over TCP or Unix sockets, speaking the blather wire protocol.
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
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DdmwError } from '../err.ts';
import { AccountStore, type SimAccount } from './accounts.ts';
import type { Endpoint } from './listener.ts';
import { type InterfaceName, type NodeType, SimNode } from './node.ts';
import type { Logger } from './session.ts';

export type { SimAccount } from './accounts.ts';

/** Options of {@link startSimulator}. Every field is optional. */
export interface SimulatorOptions {
  /** Host (IP address or name) the TCP interfaces listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port of each interface. Default 0: the operating system picks a free port. */
  ports?: {
    senderMsgif?: number;
    senderMgmtif?: number;
    receiverSubif?: number;
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
  /** Reported by `GetNodeInfo` as `ddmw.version`. Default: the package version, or `0.1.0-sim`. */
  version?: string;
  /** Receives log lines (connections, requests, replies; secrets redacted). Default: no logging. */
  log?: (line: string) => void;
}

/** A running simulator. */
export interface Simulator {
  /** Client addresses of the sender node: `host:port` or a Unix socket path. */
  sender: { msgif: string; mgmtif: string };
  /** Client addresses of the receiver node: `host:port` or a Unix socket path. */
  receiver: { subif: string; mgmtif: string };
  /** Closes every listener and every open connection. Idempotent. */
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

/**
 * Starts a simulator: a sender node and a receiver node listening on their
 * client interfaces. Throws `BAD_INPUT` for bad accounts (duplicate names)
 * or ports, `BAD_PARAMS` for `ports` together with `unixSocketDir`, and `IO`
 * when an interface cannot listen.
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
  const accounts = await AccountStore.create(opts.accounts ?? []);
  const version = opts.version ?? (await packageVersion());
  const log = safeLogger(opts.log);

  const endpointOf =
    <T extends NodeType>(type: T) =>
    (iface: InterfaceName<T>): Endpoint => {
      if (socketDir !== undefined)
        return { kind: 'unix', path: join(socketDir, `${type}-${iface}.sock`) };
      const key: PortKey = PORT_KEYS[type][iface];
      return { kind: 'tcp', host, port: opts.ports?.[key] ?? 0 };
    };

  const sender = await SimNode.start({
    type: 'sender',
    accounts,
    version,
    endpoint: endpointOf('sender'),
    log,
  });
  let receiver: SimNode<'receiver'>;
  try {
    receiver = await SimNode.start({
      type: 'receiver',
      accounts,
      version,
      endpoint: endpointOf('receiver'),
      log,
    });
  } catch (err) {
    await sender.close();
    throw err;
  }

  let closed: Promise<void> | undefined;
  return {
    sender: { msgif: sender.addresses.msgif, mgmtif: sender.addresses.mgmtif },
    receiver: { subif: receiver.addresses.subif, mgmtif: receiver.addresses.mgmtif },
    close() {
      closed ??= Promise.all([sender.close(), receiver.close()]).then(() => undefined);
      return closed;
    },
  };
}
