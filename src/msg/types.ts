/**
 * Types shared by message sending and receiving.
 */
import type { Readable } from 'node:stream';
import type { KVLines, Params } from '../blather/index.ts';
import type { AppChannel } from '../types.ts';

/**
 * Metadata or payload to send:
 * - a `Buffer` / `Uint8Array` (sent as is) or a string (sent as UTF-8);
 * - a `Params` or `KVLines` block (sent as key/value lines; its encoded size is the length);
 * - `{ file }`: a file, streamed from disk (its size is taken when `send` starts);
 * - `{ stream, length }`: exactly `length` bytes from a `Readable` or async iterable.
 */
export type Input =
  | Uint8Array
  | string
  | Params
  | KVLines
  | {
      /** Path of the file to send. */
      file: string;
    }
  | {
      /** The bytes to send (destroyed if the send fails). */
      stream: Readable | AsyncIterable<Uint8Array>;
      /** Exactly how many bytes `stream` yields. */
      length: number | bigint;
    };

/** A message to send. */
export interface MsgSpec {
  /** Application channel: a number 0..255 or a channel name. */
  ch: AppChannel;
  /** Application command number (u32). 0 (the default) is not sent. */
  cmd?: number;
  /** Metadata part. Empty or missing metadata is not announced and not sent. */
  meta?: Input;
  /** Payload part. Empty or missing payload is not announced and not sent. */
  payload?: Input;
}

/** What the receiver learns from a `Msg` header, before any byte of the message is read. */
export interface MsgInfo {
  /** Application command number. */
  cmd: number;
  /** Channel the message was sent on (as the server names it). */
  ch: string | undefined;
  /** Transfer id assigned by the sender node. */
  xferId: string | undefined;
  /** Metadata length in bytes. */
  metaLen: number;
  /** Payload length in bytes. */
  payloadLen: number;
}

/**
 * Where a received part goes:
 * - `'none'`: skipped (read and dropped);
 * - `'bytes'`: a `Buffer`;
 * - `'params'` / `'kvlines'`: parsed as a key/value block (exactly the announced bytes);
 * - `{ file }`: written to a temporary name in the same folder, renamed to `file` when
 *   complete, removed on failure;
 * - `'stream'` (payload only): a `Readable` that must be consumed (or destroyed) before
 *   the next message can be received.
 */
export type StoreType =
  | 'none'
  | 'bytes'
  | 'params'
  | 'kvlines'
  | 'stream'
  | {
      /** Where the part is stored once complete. */
      file: string;
    };

/**
 * A choice for both parts at once, or for each part. `'stream'` for both
 * means: metadata as bytes, payload as a stream.
 */
export type StoreChoice =
  | StoreType
  | {
      /** Store of the metadata (default `'none'`). */
      meta?: StoreType;
      /** Store of the payload (default `'none'`). */
      payload?: StoreType;
    };

/** Chooses where the parts of a message go, given its header. */
export type StoreQ = (info: MsgInfo) => StoreChoice | Promise<StoreChoice>;

/** A received part, tagged by how it was stored. */
export type Storage =
  | {
      /** Stored as bytes. */
      kind: 'bytes';
      /** The part's bytes. */
      bytes: Buffer;
    }
  | {
      /** Parsed as a params block. */
      kind: 'params';
      /** The key/value pairs. */
      params: Params;
    }
  | {
      /** Parsed as a kvlines block. */
      kind: 'kvlines';
      /** The ordered key/value lines. */
      kvlines: KVLines;
    }
  | {
      /** Written to a file. */
      kind: 'file';
      /** The complete file. */
      path: string;
    }
  | {
      /** Handed out as a stream. */
      kind: 'stream';
      /** The part's bytes; consume or destroy it before the next receive. */
      stream: Readable;
    };

/** A received message. A part is `undefined` when it was empty or stored as `'none'`. */
export interface Msg extends MsgInfo {
  /** Tells a message from a stream (`'stream'`, see `strm.StreamEvent`). */
  kind: 'msg';
  /** The metadata, as stored. */
  meta: Storage | undefined;
  /** The payload, as stored. */
  payload: Storage | undefined;
}
