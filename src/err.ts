/**
 * The one error type of the library.
 *
 * Every failure the library reports is a {@link DdmwError} with a stable
 * {@link DdmwErrorCode}. Match on `code`, never on the message text: messages
 * say what went wrong and what to fix, and may be improved over time.
 *
 * @module
 */

/**
 * Stable error codes. They mirror the variants of the Rust `ddmw_client::Error`
 * enum, plus the conditions a Node client adds (timeouts, aborts, config).
 *
 * - `BLATHER`: malformed or oversized wire data, an invalid topic, key or
 *   value, or a parameter value that does not parse as the requested type.
 * - `IO`: an operating system or socket error (file access, connection refused).
 * - `SERVER_ERROR`: the server replied `Fail`; {@link DdmwError.params} holds its parameters.
 * - `BAD_STATE`: an unexpected reply or frame, or a call made in the wrong state.
 * - `DISCONNECTED`: the peer closed the connection, or the data ended inside a frame or payload.
 * - `BAD_INPUT`: an argument or received value outside what is allowed (unknown enum value, bad channel).
 * - `BAD_PARAMS`: incomplete or contradictory options.
 * - `INVALID_CREDENTIALS`: missing or unreadable authentication material.
 * - `MISSING_DATA`: an expected key is absent from a reply.
 * - `PARSE`: a value could not be parsed (addresses, durations).
 * - `CONFIG`: the configuration file is broken or has a value of the wrong type.
 * - `TIMEOUT`: an operation did not finish in the time allowed.
 * - `ABORTED`: an operation was cancelled through its `AbortSignal`.
 */
export type DdmwErrorCode =
  | 'BLATHER'
  | 'IO'
  | 'SERVER_ERROR'
  | 'BAD_STATE'
  | 'DISCONNECTED'
  | 'BAD_INPUT'
  | 'BAD_PARAMS'
  | 'INVALID_CREDENTIALS'
  | 'MISSING_DATA'
  | 'PARSE'
  | 'CONFIG'
  | 'TIMEOUT'
  | 'ABORTED';

/** Options accepted by the {@link DdmwError} constructor. */
export interface DdmwErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /**
   * Parameters of a server `Fail` reply (for `SERVER_ERROR`), as plain
   * key/value pairs.
   */
  params?: ReadonlyMap<string, string>;
}

/** An error raised by ddmw-client. See {@link DdmwErrorCode} for the codes. */
export class DdmwError extends Error {
  /** The stable error code. */
  readonly code: DdmwErrorCode;
  /** The parameters of the server's `Fail` reply, for `SERVER_ERROR`. */
  readonly params: ReadonlyMap<string, string> | undefined;

  constructor(code: DdmwErrorCode, message: string, options: DdmwErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DdmwError';
    this.code = code;
    this.params = options.params;
  }
}

/** True when `err` is a {@link DdmwError}, optionally with the given code. */
export function isDdmwError(err: unknown, code?: DdmwErrorCode): err is DdmwError {
  return err instanceof DdmwError && (code === undefined || err.code === code);
}

/**
 * Wraps an arbitrary thrown value in a {@link DdmwError}. A `DdmwError` is
 * returned unchanged; a Node system error becomes `IO` (or `DISCONNECTED` for a
 * reset or broken pipe, which mean the peer went away).
 */
export function toDdmwError(err: unknown, context?: string): DdmwError {
  if (err instanceof DdmwError) return err;
  const prefix = context ? `${context}: ` : '';
  const sysCode = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  if (sysCode === 'ECONNRESET' || sysCode === 'EPIPE') {
    return new DdmwError('DISCONNECTED', `${prefix}the peer closed the connection (${text})`, {
      cause: err,
    });
  }
  return new DdmwError('IO', `${prefix}${text}`, { cause: err });
}
