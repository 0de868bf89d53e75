/**
 * Protocol addresses of DDMW client interfaces: TCP `host:port` (IPv6 as
 * `[addr]:port`) or a Unix socket path. As in the Rust client, any address
 * containing `/` is a Unix socket path.
 */
import { DdmwError } from '../err.ts';

/** A parsed client interface address. */
export type ProtAddr =
  | {
      /** A TCP address. */
      kind: 'tcp';
      /** Host name or IP address (an IPv6 address without brackets). */
      host: string;
      /** TCP port number. */
      port: number;
    }
  | {
      /** A Unix domain socket. */
      kind: 'uds';
      /** Path of the socket file. */
      path: string;
    };

function badAddr(text: string, why: string): DdmwError {
  return new DdmwError(
    'PARSE',
    `Invalid address ${JSON.stringify(text)}: ${why} (use "host:port", "[ipv6]:port" or a Unix socket path containing "/")`,
  );
}

/** Parses `host:port`, `[v6]:port` or a Unix socket path. Throws `PARSE` on a malformed address. */
export function parseProtAddr(text: string): ProtAddr {
  if (text.includes('/')) return { kind: 'uds', path: text };
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw badAddr(text, 'an IPv6 address needs "]:port"');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw badAddr(text, 'missing ":port"');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw badAddr(text, 'an IPv6 address must be written in brackets');
  }
  if (host.length === 0) throw badAddr(text, 'missing host');
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw badAddr(text, 'the port must be a number from 0 to 65535');
  }
  return { kind: 'tcp', host, port: Number(portText) };
}

/** Formats an address back to its text form. */
export function formatProtAddr(addr: ProtAddr): string {
  if (addr.kind === 'uds') return addr.path;
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** Accepts an address as text or as a parsed `ProtAddr`. */
export function toProtAddr(addr: string | ProtAddr): ProtAddr {
  return typeof addr === 'string' ? parseProtAddr(addr) : addr;
}
