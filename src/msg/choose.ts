/**
 * Where the parts of a received message go: the application's `storeq`
 * (or the default: buffer both), split per part, and checked before any
 * byte of the message is read. A refused choice skips the message.
 */
import { constants } from 'node:buffer';
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DdmwError } from '../err.ts';
import type { MsgInfo, StoreChoice, StoreQ, StoreType } from './types.ts';

/** Largest part buffered in memory unless `maxBuffered` says otherwise (64 MiB). */
export const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;

/** The store of each part. */
export interface PartStores {
  meta: StoreType;
  payload: StoreType;
}

/** What the choice depends on besides the message. */
export interface ChoiceOptions {
  storeq?: StoreQ;
  maxBuffered?: number;
}

const NAMED_STORES = new Set(['none', 'bytes', 'params', 'kvlines', 'stream']);
/** Stores that hold the whole part in memory. */
const BUFFERED = new Set(['bytes', 'params', 'kvlines']);

/** `maxBuffered`, checked: a positive integer no larger than a Buffer can be. */
export function bufferLimit(options: ChoiceOptions): number {
  const limit = options.maxBuffered ?? DEFAULT_MAX_BUFFERED;
  if (!Number.isSafeInteger(limit) || limit <= 0 || limit > constants.MAX_LENGTH) {
    throw new DdmwError(
      'BAD_PARAMS',
      `maxBuffered must be a positive integer of at most ${constants.MAX_LENGTH} bytes, got ${limit}`,
    );
  }
  return limit;
}

function checkStore(store: unknown, what: string): StoreType {
  if (typeof store === 'string' && NAMED_STORES.has(store)) return store as StoreType;
  const file = (store as { file?: unknown } | null)?.file;
  if (typeof file === 'string' && file !== '') return store as StoreType;
  throw new DdmwError(
    'BAD_PARAMS',
    `storeq chose ${JSON.stringify(store)} for the ${what}: expected 'none', 'bytes', 'params', 'kvlines', 'stream' or { file: path }`,
  );
}

/** The store of each part from a choice for both or for each. */
function split(choice: StoreChoice, info: MsgInfo): PartStores {
  // Metadata cannot be a stream (the payload follows it): 'stream' for both buffers the metadata.
  if (choice === 'stream') return { meta: 'bytes', payload: 'stream' };
  if (typeof choice === 'string') return { meta: choice, payload: choice };
  if (choice !== null && typeof choice === 'object' && 'file' in choice) {
    if (info.metaLen > 0 && info.payloadLen > 0) {
      throw new DdmwError(
        'BAD_PARAMS',
        `One file (${choice.file}) was chosen for a message with metadata and payload: choose { meta: { file }, payload: { file } } with two paths`,
      );
    }
    return { meta: choice, payload: choice };
  }
  const keys = choice !== null && typeof choice === 'object' ? Object.keys(choice) : undefined;
  if (!keys || keys.some((k) => k !== 'meta' && k !== 'payload')) {
    throw new DdmwError(
      'BAD_PARAMS',
      `storeq chose ${JSON.stringify(choice) ?? String(choice)}: expected a store, or { meta, payload } with a store for each part`,
    );
  }
  const each = choice as { meta?: unknown; payload?: unknown };
  return {
    meta: (each.meta ?? 'none') as StoreType,
    payload: (each.payload ?? 'none') as StoreType,
  };
}

/** Platforms whose usual file systems ignore the case of names. */
const CASE_BLIND = process.platform === 'darwin' || process.platform === 'win32';

/** Where a file would land: its folder with symbolic links resolved (when it exists), and its name. */
async function landing(path: string): Promise<string> {
  const absolute = resolve(path);
  const folder = await realpath(dirname(absolute)).catch(() => dirname(absolute));
  const where = join(folder, basename(absolute));
  return CASE_BLIND ? where.toLowerCase() : where;
}

/** Refuses what cannot be stored as chosen, before any byte is read. */
async function check(stores: PartStores, info: MsgInfo, limit: number): Promise<void> {
  const parts = [
    { what: 'metadata', store: checkStore(stores.meta, 'metadata'), length: info.metaLen },
    { what: 'payload', store: checkStore(stores.payload, 'payload'), length: info.payloadLen },
  ];
  for (const { what, store, length } of parts) {
    if (typeof store === 'string' && BUFFERED.has(store) && length > limit) {
      throw new DdmwError(
        'BAD_PARAMS',
        `The ${length}-byte ${what} is over the ${limit}-byte limit for buffering in memory (maxBuffered): receive it as { file } or 'stream', or raise maxBuffered`,
      );
    }
  }
  if (stores.meta === 'stream' && info.metaLen > 0) {
    throw new DdmwError(
      'BAD_PARAMS',
      "Metadata cannot be received as a 'stream'; choose another store for it",
    );
  }
  const { meta, payload } = stores;
  if (typeof meta !== 'object' || typeof payload !== 'object') return;
  if (info.metaLen === 0 || info.payloadLen === 0) return;
  if ((await landing(meta.file)) === (await landing(payload.file))) {
    throw new DdmwError(
      'BAD_PARAMS',
      `The metadata (${meta.file}) and the payload (${payload.file}) would be stored in the same file: choose two paths`,
    );
  }
}

/** Asks the application's `storeq`; whatever it throws refuses the message (`BAD_PARAMS`). */
async function ask(storeq: StoreQ, info: MsgInfo): Promise<StoreChoice> {
  try {
    // A copy: what storeq does to it cannot change how many bytes are read.
    return await storeq(Object.freeze({ ...info }));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DdmwError('BAD_PARAMS', `storeq refused the message: ${reason}`, { cause: err });
  }
}

/** Asks `storeq` (or takes the default) and checks the answer. */
export async function chooseStores(info: MsgInfo, options: ChoiceOptions): Promise<PartStores> {
  const limit = bufferLimit(options);
  const choice = options.storeq ? await ask(options.storeq, info) : 'bytes';
  const stores = split(choice, info);
  await check(stores, info, limit);
  return stores;
}
