/**
 * Connections to DDMW client interfaces: connecting (TCP or Unix socket,
 * with optional authentication), the request/reply helpers, and `whoami`.
 *
 * @module
 */
export { formatProtAddr, type ProtAddr, parseProtAddr } from './addr.ts';
export { type ConnectOptions, connect } from './connect.ts';
export { Connection, type Exchange } from './connection.ts';
export { DEFAULT_REQUEST_TIMEOUT_MS, type RequestOptions } from './limits.ts';
export { expectOkFail, readOkFail, sendrecv, type WhoAmI, whoami } from './request.ts';
