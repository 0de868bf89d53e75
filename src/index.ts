/**
 * ddmw-client: the TypeScript / Node.js client library for DDMW, the Data
 * Diode Middleware.
 *
 * The modules mirror the Rust crate: `conn`, `auth`, `conf`, `probe`,
 * `types`, and the codec `blather`.
 *
 * @module
 */
export * as auth from './auth.ts';
export * as blather from './blather/index.ts';
export * as conf from './conf.ts';
export * as conn from './conn/index.ts';
export {
  Connection,
  type ConnectOptions,
  connect,
  expectOkFail,
  type RequestOptions,
  sendrecv,
} from './conn/index.ts';
export { DdmwError, type DdmwErrorCode, type DdmwErrorOptions, isDdmwError } from './err.ts';
export * as mgmt from './mgmt/index.ts';
export * as msg from './msg/index.ts';
export * as probe from './probe.ts';
export * as strm from './strm/index.ts';
export * as types from './types.ts';
