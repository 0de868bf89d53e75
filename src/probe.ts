/**
 * Node inspection: `GetNodeInfo` tells what kind of node an interface
 * belongs to, its version, and how its data diode link is set up.
 *
 * @module
 */
import { type Params, Telegram } from './blather/index.ts';
import type { Connection } from './conn/connection.ts';
import type { RequestOptions } from './conn/limits.ts';
import { sendrecv } from './conn/request.ts';
import { DdmwError } from './err.ts';
import {
  type DdlnkProtocol,
  type NodeType,
  type ProtImpl,
  parseDdlnkProtocol,
  parseNodeType,
  parseProtImpl,
} from './types.ts';

/** The data diode link of a node. */
export interface DdlnkInfo {
  /** Name of the link engine. */
  engine: string;
  /** Link protocol. */
  protocol: DdlnkProtocol;
  /** Link implementation. */
  protImpl: ProtImpl;
}

/** What `GetNodeInfo` reports. */
export interface NodeInfo {
  /** DDMW version of the node. */
  version: string;
  /** Operating system name of the node. */
  osName: string;
  /** Sender or receiver node. */
  nodeType: NodeType;
  /** The data diode link. */
  ddlnk: DdlnkInfo;
}

function required(reply: Params, ...keys: string[]): string {
  for (const key of keys) {
    const v = reply.get(key);
    if (v !== undefined) return v;
  }
  throw new DdmwError(
    'MISSING_DATA',
    `Missing data; ${keys.join(' or ')} not found in the node info`,
  );
}

/**
 * Asks the node for its info. The engine is read from `ddmw.ddlnk.engine`
 * or `ddmw.ddlink.engine` (the Rust client and its predecessor disagree on
 * the spelling). A missing key is `MISSING_DATA`; an unknown node type,
 * protocol or implementation is `BAD_INPUT`. `options`: time limit and
 * signal (see {@link RequestOptions}).
 */
export async function getNodeInfo(conn: Connection, options?: RequestOptions): Promise<NodeInfo> {
  const reply = await sendrecv(conn, new Telegram('GetNodeInfo'), options);
  return {
    version: required(reply, 'ddmw.version'),
    osName: required(reply, 'os.name'),
    nodeType: parseNodeType(required(reply, 'ddmw.node')),
    ddlnk: {
      engine: required(reply, 'ddmw.ddlnk.engine', 'ddmw.ddlink.engine'),
      protocol: parseDdlnkProtocol(required(reply, 'ddmw.ddlink.protocol')),
      protImpl: parseProtImpl(required(reply, 'ddmw.ddlink.protimpl')),
    },
  };
}
