/**
 * Drives a FrameReader through a script of operations and records each
 * result in a plain, comparable form. Used to run every wire vector under
 * every chunking and compare the outcomes.
 */
import { FrameReader, type FrameReaderOptions } from '../../src/blather/index.ts';
import { DdmwError } from '../../src/err.ts';
import { chunksOf } from './chunks.ts';

export type Op =
  | ['tg']
  | ['next']
  | ['params']
  | ['kv']
  | ['bytes', number]
  | ['skip', number]
  | ['chunks', number];

export type Outcome =
  | { tg: string; p: Record<string, string> }
  | { end: true }
  | { p: Record<string, string> }
  | { kv: [string, string][] }
  | { bytes: string }
  | { skipped: number }
  | { error: string; msg: string };

async function step(reader: FrameReader, op: Op): Promise<Outcome> {
  switch (op[0]) {
    case 'tg': {
      const tg = await reader.readTelegram();
      return { tg: tg.topic, p: tg.params.toObject() };
    }
    case 'next': {
      const tg = await reader.nextTelegram();
      return tg ? { tg: tg.topic, p: tg.params.toObject() } : { end: true };
    }
    case 'params':
      return { p: (await reader.readParams()).toObject() };
    case 'kv':
      return { kv: (await reader.readKVLines()).toArray() };
    case 'bytes':
      return { bytes: (await reader.readBytes(op[1])).toString('latin1') };
    case 'skip':
      await reader.skip(op[1]);
      return { skipped: op[1] };
    case 'chunks': {
      const parts: Buffer[] = [];
      await reader.readChunks(op[1], (c) => {
        parts.push(Buffer.from(c));
      });
      return { bytes: Buffer.concat(parts).toString('latin1') };
    }
  }
}

/** Runs `ops` over `parts`; stops at the first error, which is recorded. */
export async function runScript(
  parts: Uint8Array[],
  ops: Op[],
  options?: FrameReaderOptions,
): Promise<Outcome[]> {
  const reader = new FrameReader(chunksOf(parts), options);
  const out: Outcome[] = [];
  for (const op of ops) {
    try {
      out.push(await step(reader, op));
    } catch (err) {
      if (!(err instanceof DdmwError)) throw err;
      out.push({ error: err.code, msg: err.message });
      break;
    }
  }
  return out;
}
