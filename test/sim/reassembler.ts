/**
 * A link Reassembler fed frames by hand, for tests of the receiving end of
 * the link without sockets: what it posts is recorded, its spool files go
 * to a folder of the test file's own, and every one is closed when the file
 * ends (whatever its tests did).
 */
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { LinkEvent } from '../../src/sim/link/format.ts';
import { WriteBudget } from '../../src/sim/link/incoming-data.ts';
import { Reassembler } from '../../src/sim/link/reassembly.ts';
import { type SealedLink, testLink } from './link-frames.ts';

/** How the receiving end is set up; each has a default. */
export interface ReassemblerOptions {
  link?: SealedLink;
  /** Whether the link's frames are sealed (default true); unsealed, the receiving end has no key. */
  sealed?: boolean;
  /** Default `stream`. */
  transport?: 'stream' | 'udp';
  /** Transfers of at most this many bytes stay in memory (default 1 MiB). */
  memoryLimit?: number;
  /** Larger ones too while they fit this (default 0). */
  memoryBudget?: number;
  /** Bytes that may wait for the disk, over all transfers (default 1 GiB). */
  writeLimit?: number;
}

/** A reassembler and what it posted. */
export interface TestReassembler {
  r: Reassembler;
  link: SealedLink;
  events: LinkEvent[];
  /** The buffers handed over with each event, in the same order. */
  transfers: (ArrayBuffer[] | undefined)[];
}

/** Registers the file's hooks; returns how to start reassemblers and the spool folder they use. */
export function reassemblersForFile() {
  let dir = '';
  const started: Reassembler[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ddmw-sim-link-'));
  });
  after(async () => {
    await Promise.all(started.map((r) => r.close()));
    await rm(dir, { recursive: true, force: true });
  });
  return {
    /** The spool folder. */
    get dir(): string {
      return dir;
    },
    start(o: ReassemblerOptions = {}): TestReassembler {
      const link = o.link ?? testLink();
      const events: LinkEvent[] = [];
      const transfers: (ArrayBuffer[] | undefined)[] = [];
      const config = {
        transport: o.transport ?? 'stream',
        host: '127.0.0.1',
        spoolDir: dir,
        memoryLimit: o.memoryLimit ?? 1 << 20,
        memoryBudget: o.memoryBudget ?? 0,
        recvBufferSize: 0,
        key: o.sealed === false ? undefined : link.key,
        session: link.session,
        frameSize: link.frameSize,
        maxTransferBytes: link.maxTransferBytes,
        heartbeatMs: 1000,
        heartbeatMisses: 3,
        watchLink: false,
      };
      const post = (event: LinkEvent, transfer?: ArrayBuffer[]) => {
        events.push(event);
        transfers.push(transfer);
      };
      const budget = new WriteBudget(o.writeLimit ?? 1 << 30, () => {});
      const r = new Reassembler(config, post, budget, () => {});
      started.push(r);
      return { r, link, events, transfers };
    },
  };
}

/** The data of a `complete` event; a spool file is removed once read (the receiver node owns it). */
export async function contentOf(event: LinkEvent | undefined): Promise<Buffer> {
  if (event?.type !== 'complete') throw new Error(`not complete: ${JSON.stringify(event)}`);
  if (event.chunks) return Buffer.concat(event.chunks);
  const path = event.path as string;
  const content = await readFile(path);
  await unlink(path);
  return content;
}

/** The verdicts on lost transfers among `events`, in order: `[transfer, kind, reason]`. */
export function lostOf(events: LinkEvent[]): [number, string, string][] {
  return events.flatMap((e) => (e.type === 'lost' ? [[e.transfer, e.kind, e.reason]] : []));
}

/** The transfers that arrived whole among `events`, in order. */
export function completeOf(events: LinkEvent[]): number[] {
  return events.flatMap((e) => (e.type === 'complete' ? [e.transfer] : []));
}
