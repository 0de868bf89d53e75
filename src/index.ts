/**
 * ddmw-client: the TypeScript / Node.js client library for DDMW, the Data
 * Diode Middleware.
 *
 * @module
 */
export * as blather from './blather/index.ts';
export { DdmwError, type DdmwErrorCode, isDdmwError } from './err.ts';
