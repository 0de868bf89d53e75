/** UDP addresses of the pass-through: `host:port` or `[ipv6]:port`. */
import { isIPv6 } from 'node:net';
import { conn, DdmwError } from '../../index.ts';

/** A UDP address, with the socket type it needs. */
export interface UdpAddress {
  host: string;
  port: number;
  type: 'udp4' | 'udp6';
}

/** Parses `host:port` or `[ipv6]:port`; `PARSE` otherwise. */
export function parseUdpAddress(text: string): UdpAddress {
  const addr = conn.parseProtAddr(text);
  if (addr.kind !== 'tcp')
    throw new DdmwError('PARSE', `Invalid UDP address ${JSON.stringify(text)}: use host:port`);
  return { host: addr.host, port: addr.port, type: isIPv6(addr.host) ? 'udp6' : 'udp4' };
}
