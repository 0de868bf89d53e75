/**
 * A simulated DDMW node: a sender or a receiver with its client interfaces.
 * The sender has a message interface (msgif) and a management interface
 * (mgmtif); the receiver has a subscription interface (subif) and a
 * management interface. Both management interfaces answer the account
 * commands.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountStore } from '../accounts/accounts.ts';
import { accountCommands } from '../accounts/commands.ts';
import type { LoginGuard } from '../accounts/login-guard.ts';
import { commonCommands } from './commands.ts';
import { type Endpoint, InterfaceListener, type ListenerOptions } from './listener.ts';
import type { CommandHandler, CommandTable, Logger } from './session.ts';

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
  /** Where logins are checked and slowed down, shared with the other node. */
  logins: LoginGuard;
  /** The limits of each interface's connections. */
  connections: Pick<ListenerOptions, 'maxConnections' | 'timeouts' | 'onRefused' | 'onEvicted'>;
  /** Reported by `GetNodeInfo`. */
  version: string;
  /** Where each interface listens. */
  endpoint: (iface: InterfaceName<T>) => Endpoint;
  /** Commands an interface answers besides the common ones (such as `Msg` on the msgif). */
  commands?: { [I in InterfaceName<T>]?: Iterable<[string, CommandHandler]> };
  /** Where log lines go; `undefined` for no logging. */
  log: Logger | undefined;
}

/** A running node and its listening interfaces. */
export class SimNode<T extends NodeType> {
  /** `sender` or `receiver`. */
  readonly type: T;
  /** The client address of each interface (`host:port` or a socket path). */
  readonly addresses: Readonly<Record<InterfaceName<T>, string>>;
  #listeners: InterfaceListener[];
  /** The restart in progress, if any; restarts and closing wait for it. */
  #busy: Promise<void> = Promise.resolve();
  readonly #closing = new AbortController();
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
    const common = commonCommands(options.accounts, options.logins, {
      nodeType: type,
      version: options.version,
    });
    const listeners = new Map<InterfaceName<T>, InterfaceListener>();
    const interfaces: readonly InterfaceName<T>[] = NODE_INTERFACES[type];
    try {
      for (const iface of interfaces) {
        const own = iface === 'mgmtif' ? accountCommands(options.accounts) : [];
        const commands: CommandTable = new Map([
          ...common,
          ...own,
          ...(options.commands?.[iface] ?? []),
        ]);
        const listener = await InterfaceListener.open({
          ...options.connections,
          endpoint: options.endpoint(iface),
          commands,
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

  /**
   * Closes every interface and its connections, waits `downMs`, and listens
   * again on the same addresses. Restarts run one after another. If the
   * node is closed meanwhile, it stays closed. Throws `IO` when an address
   * cannot be bound again; the node then stays down.
   */
  restart(downMs: number): Promise<void> {
    const run = async () => {
      if (this.#closing.signal.aborted) return;
      const old = this.#listeners;
      this.#listeners = [];
      await Promise.all(old.map((listener) => listener.close()));
      await sleep(downMs, undefined, { signal: this.#closing.signal }).catch(() => {});
      try {
        for (const listener of old) {
          if (this.#closing.signal.aborted) return;
          this.#listeners.push(await listener.reopen());
        }
      } catch (err) {
        const reopened = this.#listeners.splice(0);
        await Promise.all(reopened.map((listener) => listener.close()));
        throw err;
      }
    };
    const restarted = this.#busy.then(run);
    this.#busy = restarted.catch(() => {});
    return restarted;
  }

  /** Closes every interface and its connections. Idempotent. */
  close(): Promise<void> {
    this.#closing.abort();
    this.#closed ??= this.#busy.then(async () => {
      await Promise.all(this.#listeners.map((listener) => listener.close()));
    });
    return this.#closed;
  }
}
