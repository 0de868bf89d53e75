/**
 * Streams on the receiver node (provisional wire format, see
 * docs/streams.md). The link delivers a stream as a start transfer, numbered
 * segments and an end (or abort); the router checks them (no missing
 * segment, total length and segment count at the end) and hands each segment on
 * to the subscribers at once, so they read the stream while it is sent. The
 * stream's sha-256 comes with its end, computed by the link's receiving end
 * in its own thread (link/stream-digests.ts).
 *
 * Each subscriber gets a {@link StreamOutlet}, written to its connection as
 *
 * ```
 * S: Strm _Ch XferId Cmd
 * S: Chunk Len + <Len bytes>   (repeated)
 * S: StrmEnd Len Sha256        (or StrmAbort Reason)
 * ```
 *
 * A segment's memory goes back to the link for reuse (as a message's does)
 * once every subscriber it went to has handed its bytes to the system, or
 * dropped them: fresh memory for every segment cost the link's thread
 * page faults for each byte of the stream.
 *
 * A stream occupies the subscriber's connection from its start to its end:
 * messages (and other streams) that arrive meanwhile wait in the
 * subscriber's queue. An outlet buffers at most the subscriber's `queueLimitBytes`
 * bytes the subscriber has not taken yet; beyond that the subscriber is too
 * slow: its stream is aborted and it is disconnected, as for messages. While
 * an outlet waits in the queue, what it buffers also counts towards the
 * queue's byte bound (subscriber.ts).
 */
import { readFile } from 'node:fs/promises';
import { encodeTelegram, Telegram, U32 } from '../../blather/index.ts';
import { STREAM_IDLE_MS, STREAM_TOPICS } from '../link/transfer-header.ts';
import type { ChunkWriter } from '../node/message.ts';
import type { Logger } from '../node/session.ts';
import { discard, type Spooled } from '../node/spool.ts';
import type { SimulatorStats } from '../stats.ts';
import type { Discarded } from './discarded.ts';

/** What a {@link StreamOutlet} tells its subscriber. */
export interface OutletEvents {
  /** The subscriber left more than the outlet's limit untaken. */
  overflow(): void;
  /** The bytes buffered for the subscriber changed by `delta`. */
  buffered(delta: number): void;
}

/**
 * A segment's pieces, shared by the outlets it is queued in. Reference
 * counted: the router holds one reference while it routes the segment and
 * each outlet one until it has written the segment or dropped it; the last
 * one lets go of its memory, for reuse (nothing refers to it any more).
 */
export class Segment {
  readonly #data: Spooled & { kind: 'memory' };
  #refs = 1;

  /** Takes over `data`; the creator holds the first reference. */
  constructor(data: Spooled & { kind: 'memory' }) {
    this.#data = data;
  }

  /** The pieces it arrived in. */
  get pieces(): Buffer[] {
    return this.#data.chunks;
  }

  /** Its bytes. */
  get length(): number {
    return this.#data.size;
  }

  retain(): void {
    this.#refs++;
  }

  release(): void {
    if (--this.#refs === 0) void discard(this.#data, true);
  }
}

/** A spooled segment read into memory of its own; its spool file goes at once (nothing of it is reused). */
async function readSpooled(
  data: Spooled & { kind: 'file' },
): Promise<Spooled & { kind: 'memory' }> {
  const bytes = await readFile(data.path);
  await discard(data);
  return { kind: 'memory', chunks: [bytes], size: bytes.length };
}

/** One stream on its way to one subscriber. */
export class StreamOutlet {
  /** Identifies the stream in logs. */
  readonly header: { xferId: string };
  readonly #start: Buffer;
  readonly #events: OutletEvents;
  /** Most bytes buffered before the subscriber is too slow. */
  readonly #limit: number;
  /** Segments not written yet, each holding a reference (see {@link Segment}). */
  #segments: Segment[] = [];
  #buffered = 0;
  #final: Telegram | undefined;
  #wake: (() => void) | undefined;

  constructor(start: Telegram, xferId: string, limit: number, events: OutletEvents) {
    this.header = { xferId };
    this.#limit = limit;
    this.#start = encodeTelegram(start);
    this.#events = events;
  }

  /** Bytes buffered, not written yet. */
  get size(): number {
    return this.#buffered;
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Queues a segment for the subscriber (taking a reference to it). */
  push(segment: Segment): void {
    if (this.#final) return;
    const { length } = segment;
    if (this.#buffered + length > this.#limit) {
      this.abort('too slow: the subscriber did not keep up with the stream');
      this.#events.overflow();
      return;
    }
    segment.retain();
    this.#segments.push(segment);
    this.#buffered += length;
    this.#poke();
    this.#events.buffered(length);
  }

  /** The stream is complete. */
  end(len: number, sha256: string): void {
    this.#final ??= new Telegram('StrmEnd', { Len: len, Sha256: sha256 });
    this.#poke();
  }

  /** The stream will not be completed: drop what is queued and tell the subscriber. */
  abort(reason: string): void {
    if (this.#final) return;
    this.#final = new Telegram('StrmAbort', { Reason: reason });
    this.#dropSegments();
    this.#poke();
  }

  /** The subscriber lets go of the stream (delivered, dropped or gone), ended or not. */
  release(): void {
    this.abort('the subscriber is gone');
    this.#dropSegments();
  }

  /** Drops the segments not written yet (their memory goes once no other outlet holds it). */
  #dropSegments(): void {
    const dropped = this.#buffered;
    for (const segment of this.#segments) segment.release();
    this.#segments = [];
    this.#buffered = 0;
    if (dropped > 0) this.#events.buffered(-dropped);
  }

  /**
   * Writes the stream as its segments arrive, awaiting `write` between
   * chunks. Returns whether the whole stream was written.
   */
  async writeTo(write: ChunkWriter, gone: () => boolean): Promise<boolean> {
    await write([this.#start]);
    for (;;) {
      if (gone()) return false;
      const segment = this.#segments.shift();
      if (segment) {
        const { pieces, length } = segment;
        this.#buffered -= length;
        this.#events.buffered(-length);
        // One `Chunk` per segment, written from its pieces (not joined first);
        // flushed: once it is out, its memory may be filled again.
        try {
          await write([encodeTelegram(new Telegram('Chunk', { Len: length })), ...pieces], true);
        } finally {
          segment.release();
        }
      } else if (this.#final) {
        await write([encodeTelegram(this.#final)]);
        return this.#final.topic === 'StrmEnd' && !gone();
      } else {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    }
  }
}

/** Where the router finds the outlets of a new stream. */
export interface StreamRouterOptions {
  /**
   * Makes one outlet per subscriber of `ch` (none while the node is down)
   * for a stream that starts with the telegram `start`.
   */
  outlets: (ch: string, start: Telegram, xferId: string) => StreamOutlet[];
  /** Counters to update. */
  stats: SimulatorStats;
  /** Where log lines go. */
  log: Logger | undefined;
  /** Gets every stream transfer the node drops (for loss reports). */
  onDiscard: (discarded: Discarded) => void;
}

/** Most streams remembered as reported orphans. */
const MAX_ORPHANS = 1000;

/** A stream the link is delivering. */
interface InboundStream {
  ch: string;
  outlets: StreamOutlet[];
  seq: number;
  len: number;
  idle: NodeJS.Timeout;
}

/** Checks the stream transfers coming off the link and hands them to the outlets. */
export class StreamRouter {
  readonly #options: StreamRouterOptions;
  readonly #open = new Map<string, InboundStream>();
  /** Streams whose segments arrive while they are not open (each reported once). */
  readonly #orphans = new Set<string>();

  constructor(options: StreamRouterOptions) {
    this.#options = options;
  }

  /** True when `topic` is the header topic of a stream transfer. */
  static handles(topic: string): boolean {
    return (Object.values(STREAM_TOPICS) as string[]).includes(topic);
  }

  /**
   * Takes one stream transfer (number `number` on the link, in link order)
   * and its data; for a `StrmEnd`, `digest` is the sha-256 of the stream's
   * segments, computed by the link's receiving end (link/stream-digests.ts).
   */
  async arrive(
    number: number,
    tg: Telegram,
    data: Spooled,
    digest: string | undefined,
  ): Promise<void> {
    const segment = new Segment(data.kind === 'memory' ? data : await readSpooled(data));
    try {
      this.#route(number, tg, segment, digest);
    } finally {
      segment.release(); // the router's reference: the memory goes once no outlet holds it
    }
  }

  #route(number: number, tg: Telegram, segment: Segment, digest: string | undefined): void {
    const xferId = tg.params.getStr('XferId');
    if (tg.topic === STREAM_TOPICS.start) {
      if (this.#start(tg, xferId) === 0) {
        this.#options.onDiscard({ number, kind: 'discarded', reason: 'no subscriber' });
      }
      return;
    }
    const s = this.#open.get(xferId);
    if (!s) {
      // Its start was lost, or it was already aborted: nothing can be made of it.
      this.#options.stats.transfersCorrupt++;
      if (this.#orphans.size >= MAX_ORPHANS) this.#orphans.clear();
      if (!this.#orphans.has(xferId)) {
        this.#orphans.add(xferId); // reported once per stream, not per segment
        const reason = 'its stream is not open (its start was lost, or it was aborted)';
        this.#options.onDiscard({ number, kind: 'discarded', reason });
      }
      return;
    }
    s.idle.refresh();
    if (tg.topic === STREAM_TOPICS.segment) {
      if (tg.params.getInt('Seq') !== s.seq++) {
        this.#abort(xferId, 'part of the stream was lost on the link');
        return;
      }
      s.len += segment.length;
      if (segment.length > 0) for (const outlet of s.outlets) outlet.push(segment);
    } else if (tg.topic === STREAM_TOPICS.end) {
      const p = tg.params;
      const counted = p.getInt('Len') === s.len && p.getInt('Segs') === s.seq;
      if (!counted || digest === undefined) {
        this.#options.stats.transfersCorrupt++;
        const reason = counted
          ? "the link's receiving end has no sha-256 for it (more streams at once than it follows, or a segment it could not read)"
          : 'the stream failed its integrity check (length or segment count)';
        this.#options.onDiscard({ number, kind: 'corrupt', reason });
        this.#abort(xferId, reason);
        return;
      }
      this.#close(xferId);
      for (const outlet of s.outlets) outlet.end(s.len, digest);
      this.#options.log?.(`receiver: stream ${xferId} on channel ${s.ch} complete: ${s.len} bytes`);
    } else {
      this.#abort(xferId, tg.params.getStrDef('Reason', 'aborted by the sender node'));
    }
  }

  /** Opens a stream; returns to how many subscribers it goes. */
  #start(tg: Telegram, xferId: string): number {
    const ch = tg.params.getStr('_Ch');
    const start = new Telegram('Strm', {
      _Ch: ch,
      XferId: xferId,
      Cmd: tg.params.getIntDef('Cmd', 0, U32),
    });
    const outlets = this.#options.outlets(ch, start, xferId);
    if (outlets.length === 0) this.#options.stats.droppedNoSubscriber++;
    const idle = setTimeout(
      () => this.#abort(xferId, 'nothing arrived on the link for too long'),
      STREAM_IDLE_MS,
    ).unref();
    this.#open.set(xferId, { ch, outlets, seq: 0, len: 0, idle });
    this.#options.log?.(
      `receiver: stream ${xferId} on channel ${ch} for ${outlets.length} subscriber(s)`,
    );
    return outlets.length;
  }

  #close(xferId: string): InboundStream | undefined {
    const s = this.#open.get(xferId);
    if (s) clearTimeout(s.idle);
    this.#open.delete(xferId);
    return s;
  }

  #abort(xferId: string, reason: string): void {
    const s = this.#close(xferId);
    for (const outlet of s?.outlets ?? []) outlet.abort(reason);
    this.#options.log?.(`receiver: stream ${xferId} aborted: ${reason}`);
  }

  /** Aborts every stream still open (the node is closing). */
  close(): void {
    for (const xferId of [...this.#open.keys()]) this.#abort(xferId, 'the receiver node closed');
  }
}
