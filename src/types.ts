/**
 * Shared DDMW value types: application channels, object references, and the
 * node / data-diode-link enums reported by `GetNodeInfo`.
 *
 * @module
 */
import { DdmwError } from './err.ts';

/** An application channel: a number 0..255 or a channel name. */
export type AppChannel = number | string;

/** A reference to a server object (an account): a numeric id or a name. */
export type ObjRef = number | string;

/** The kind of DDMW node. */
export type NodeType = 'sender' | 'receiver';
/** The protocol of the data diode link. */
export type DdlnkProtocol = 'ethernet' | 'udp';
/** The implementation used by the data diode link. */
export type ProtImpl = 'pcap' | 'generic';

const NODE_TYPES: readonly NodeType[] = ['sender', 'receiver'];
const DDLNK_PROTOCOLS: readonly DdlnkProtocol[] = ['ethernet', 'udp'];
const PROT_IMPLS: readonly ProtImpl[] = ['pcap', 'generic'];

/** Longest channel name accepted, in UTF-8 bytes. */
export const MAX_CHANNEL_NAME_BYTES = 255;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * Checks a channel and returns it unchanged. A number must be an integer
 * 0..255. A name must be non-empty, at most 255 UTF-8 bytes, free of control
 * characters (so it fits on one wire line) and of leading/trailing spaces,
 * and must not look like a number (`7`, `-1`, `300`, `2.5`: such a string
 * would be read as, or mistaken for, a channel number).
 * Throws `BAD_INPUT` otherwise. (The real server's name rules are unknown;
 * see docs/assumptions.md.)
 */
export function checkAppChannel(ch: AppChannel): AppChannel {
  if (typeof ch === 'number') {
    if (Number.isInteger(ch) && ch >= 0 && ch <= 255) return ch;
    throw new DdmwError(
      'BAD_INPUT',
      `Invalid channel number ${ch}: use an integer from 0 to 255 or a channel name`,
    );
  }
  if (typeof ch !== 'string' || ch.length === 0) {
    throw new DdmwError(
      'BAD_INPUT',
      'Invalid channel: give a number 0..255 or a non-empty channel name',
    );
  }
  if (/^[+-]?[0-9]+(\.[0-9]*)?$/.test(ch)) {
    const n = Number(ch);
    throw new DdmwError(
      'BAD_INPUT',
      Number.isInteger(n) && n >= 0 && n <= 255
        ? `Invalid channel name "${ch}": a name cannot look like a number; pass the number ${n}`
        : `Invalid channel "${ch}": channel numbers are integers from 0 to 255, and a name cannot look like a number`,
    );
  }
  if (CONTROL_RE.test(ch) || ch.trim() !== ch || /[\uD800-\uDFFF]/u.test(ch)) {
    throw new DdmwError(
      'BAD_INPUT',
      `Invalid channel name ${JSON.stringify(ch)}: no control characters, line breaks or leading/trailing spaces`,
    );
  }
  if (Buffer.byteLength(ch) > MAX_CHANNEL_NAME_BYTES) {
    throw new DdmwError('BAD_INPUT', `Channel name is longer than ${MAX_CHANNEL_NAME_BYTES} bytes`);
  }
  return ch;
}

/**
 * Parses a channel as the Rust `AppChannel::from_str`: a string that is a
 * u8 (`0`..`255`, leading zeros allowed) is a number, anything else a name.
 * Unlike Rust it validates the result (see {@link checkAppChannel}).
 */
export function parseAppChannel(text: string): AppChannel {
  if (/^\+?[0-9]+$/.test(text)) {
    const n = Number(text);
    if (n <= 255) return n;
  }
  return checkAppChannel(text);
}

/** Formats a channel for the wire (the number in decimal, or the name). */
export function formatAppChannel(ch: AppChannel): string {
  return String(checkAppChannel(ch));
}

/** Parses an object reference as Rust `ObjRef::from_str`: an integer is an id, anything else a name. */
export function parseObjRef(text: string): ObjRef {
  if (/^[+-]?[0-9]+$/.test(text)) {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  }
  return text;
}

function parseEnum<T extends string>(what: string, allowed: readonly T[], text: string): T {
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new DdmwError(
    'BAD_INPUT',
    `Unknown ${what} "${text}": expected one of ${allowed.join(', ')}`,
  );
}

/** Parses a node type (`sender` / `receiver`); `BAD_INPUT` otherwise. */
export function parseNodeType(text: string): NodeType {
  return parseEnum('node type', NODE_TYPES, text);
}

/** Parses a data diode link protocol (`ethernet` / `udp`); `BAD_INPUT` otherwise. */
export function parseDdlnkProtocol(text: string): DdlnkProtocol {
  return parseEnum('ddlink protocol', DDLNK_PROTOCOLS, text);
}

/** Parses a data diode link implementation (`pcap` / `generic`); `BAD_INPUT` otherwise. */
export function parseProtImpl(text: string): ProtImpl {
  return parseEnum('ddlink implementation', PROT_IMPLS, text);
}
