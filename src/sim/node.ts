/**
 * A simulated DDMW node: a sender or a receiver with its client interfaces.
 * The sender has a message interface (msgif) and a management interface
 * (mgmtif); the receiver has a subscription interface (subif) and a
 * management interface.
 */
import type { AccountStore } from './accounts.ts';
import { commonCommands } from './commands.ts';
import { type Endpoint, InterfaceListener } from './listener.ts';
import type { CommandTable, Logger } from './session.ts';

/** The two kinds of DDMW node. */
export type NodeType = 'sender' | 'receiver';

/** The client interfaces of each node type, in the order they are started. */
export const NODE_INTERFACES = {
  sender: ['msgif', 'mgmtif'],
  receiver: ['subif', 'mgmtif'],
} as const;

/** Names of the client interfaces of a node of type `T`. */
export type InterfaceName<T extends NodeType> = (typeof NODE_INTERFACES)[T][number];

/** How a node is set up. */
export interface NodeOptions<T extends NodeType> {
  /** `sender` or `receiver`. */
  type: T;
  /** Accounts and tokens, shared with the other node. */
  accounts: AccountStore;
  /** Reported by `GetNodeInfo`. */
  version: string;
  /** Where each interface listens. */
  endpoint: (iface: InterfaceName<T>) => Endpoint;
  /** Where log lines go; `undefined` for no logging. */
  log: Logger | undefined;
}

/** A running node and its listening interfaces. */
export class SimNode<T extends NodeType> {
  /** `sender` or `receiver`. */
  readonly type: T;
  /** The client address of each interface (`host:port` or a socket path). */
  readonly addresses: Readonly<Record<InterfaceName<T>, string>>;
  readonly #listeners: InterfaceListener[];
  #closed: Promise<void> | undefined;

  private constructor(type: T, listeners: Map<InterfaceName<T>, InterfaceListener>) {
    this.type = type;
    this.#listeners = [...listeners.values()];
    this.addresses = Object.fromEntries(
      [...listeners].map(([iface, listener]) => [iface, listener.address]),
    ) as Record<InterfaceName<T>, string>;
  }

  /**
   * Starts listening on every interface of the node. If one cannot listen,
   * the ones already started are closed and the `IO` error is thrown.
   */
  static async start<T extends NodeType>(options: NodeOptions<T>): Promise<SimNode<T>> {
    const { type, log } = options;
    const common = commonCommands(options.accounts, { nodeType: type, version: options.version });
    const tables: Record<InterfaceName<NodeType>, CommandTable> = {
      msgif: common,
      mgmtif: common,
      subif: common,
    };
    const listeners = new Map<InterfaceName<T>, InterfaceListener>();
    const interfaces: readonly InterfaceName<T>[] = NODE_INTERFACES[type];
    try {
      for (const iface of interfaces) {
        const listener = await InterfaceListener.open({
          endpoint: options.endpoint(iface),
          commands: tables[iface],
          interfaceName: `the ${type} node's ${iface}`,
          label: `${type}/${iface}`,
          log,
        });
        listeners.set(iface, listener);
      }
    } catch (err) {
      await Promise.all([...listeners.values()].map((listener) => listener.close()));
      throw err;
    }
    return new SimNode(type, listeners);
  }

  /** Closes every interface and its connections. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= Promise.all(this.#listeners.map((listener) => listener.close())).then(
      () => undefined,
    );
    return this.#closed;
  }
}
