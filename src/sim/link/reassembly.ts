/**
 * Reassembly of transfers from link datagrams, run by the receiving end of
 * the link in its own thread. Each transfer's data goes to memory (small
 * transfers) or to a spool file at the datagram's offset; when every
 * datagram is in, the sha-256 is checked and the transfer handed on. A
 * transfer that stops getting datagrams is lost; transfers that never
 * showed up at all are noticed by the gap in the transfer numbers.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Datagram, type LinkEvent, type LinkReceiverConfig, parseDatagram } from './format.ts';

/**
 * Datagrams that follow each other are written together, up to this many
 * bytes per write: one 64 KB write per datagram could not keep up with the
 * link on a busy disk.
 */
const BATCH_BYTES = 1024 * 1024;

/**
 * Most bytes waiting to be written to spool files, over all transfers. The
 * link has no back channel to slow the sender down, so a receiver whose
 * disk cannot keep up fails transfers (counted as lost, like a real
 * overrun) rather than buffering without bound.
 */
const MAX_UNWRITTEN_BYTES = 64 * 1024 * 1024;

/** Hands an event to the receiver node, transferring the listed buffers. */
export type PostEvent = (event: LinkEvent, transfer?: ArrayBuffer[]) => void;

/** A transfer being reassembled. */
interface Transfer {
  key: string;
  /** Transfer number, for log lines. */
  number: number;
  count: number;
  total: number;
  /** One flag per datagram: 1 once it arrived. */
  seen: Uint8Array;
  arrived: number;
  header: Uint8Array | undefined;
  hash: Buffer | undefined;
  /** The data of a small transfer. */
  memory: Uint8Array | undefined;
  /** The spool file of a large transfer. */
  path: string | undefined;
  /** Writes to the spool file, one after another; never rejects. */
  io: Promise<FileHandle | undefined>;
  /** Contiguous datagrams not yet written: coalesced into one write (see {@link BATCH_BYTES}). */
  batch: Buffer[];
  batchOffset: number;
  batchBytes: number;
  ioError: unknown;
  /** Hash of the data received in order so far; `hashed` bytes of it. */
  digest: Hash;
  hashed: number;
  timer: NodeJS.Timeout;
}

/** Reassembles transfers and posts them. One per receiving thread. */
export class Reassembler {
  readonly #config: LinkReceiverConfig;
  readonly #post: PostEvent;
  readonly #active = new Map<string, Transfer>();
  /** Highest transfer number seen, per link session. */
  readonly #highest = new Map<string, number>();
  /** Completed transfers being checked and posted (and lost ones being removed), one after another. */
  #finishing: Promise<void> = Promise.resolve();
  #files = 0;
  /** Bytes handed to spool writes that have not completed yet. */
  #unwritten = 0;

  constructor(config: LinkReceiverConfig, post: PostEvent) {
    this.#config = config;
    this.#post = post;
  }

  /** Takes one received datagram. */
  accept(buf: Buffer): void {
    const d = parseDatagram(buf);
    if (typeof d === 'string') {
      this.#post({ type: 'ignored', reason: d });
      return;
    }
    const t = this.#transferOf(d);
    if (typeof t === 'string') {
      this.#post({ type: 'ignored', reason: t });
      return;
    }
    t.seen[d.seq] = 1;
    t.arrived++;
    if (d.header) t.header = Uint8Array.from(d.header);
    if (d.hash) t.hash = Buffer.from(d.hash);
    this.#store(t, d);
    if (t.arrived === t.count) {
      clearTimeout(t.timer);
      this.#active.delete(t.key);
      // Finishing takes a while for spooled transfers: keep completions in arrival order.
      this.#finishing = this.#finishing.then(() => this.#finish(t));
    } else {
      t.timer.refresh();
    }
  }

  /** The transfer a datagram belongs to (started if new), or why the datagram is ignored. */
  #transferOf(d: Datagram): Transfer | string {
    const key = `${d.session}/${d.transfer}`;
    const t = this.#active.get(key);
    if (t) {
      if (d.count !== t.count || d.total !== t.total) {
        return `datagram does not match transfer ${d.transfer}`;
      }
      return t.seen[d.seq] ? `duplicate datagram ${d.seq} of transfer ${d.transfer}` : t;
    }
    const highest = this.#highest.get(d.session) ?? 0;
    if (d.transfer <= highest) return `late datagram of transfer ${d.transfer}`;
    if (d.transfer > highest + 1) {
      const missing = d.transfer - highest - 1;
      this.#post({
        type: 'lost',
        transfers: missing,
        reason: `no datagram of ${missing} transfer(s) before transfer ${d.transfer} arrived`,
      });
    }
    this.#highest.set(d.session, d.transfer);
    return this.#open(key, d);
  }

  #open(key: string, d: Datagram): Transfer {
    const inMemory = d.total <= this.#config.memoryLimit;
    const path = inMemory ? undefined : join(this.#config.spoolDir, `out-${++this.#files}`);
    const t: Transfer = {
      key,
      number: d.transfer,
      count: d.count,
      total: d.total,
      seen: new Uint8Array(d.count),
      arrived: 0,
      header: undefined,
      hash: undefined,
      memory: inMemory ? new Uint8Array(d.total) : undefined,
      path,
      io: Promise.resolve(undefined),
      batch: [],
      batchOffset: 0,
      batchBytes: 0,
      ioError: undefined,
      digest: createHash('sha256'),
      hashed: 0,
      timer: setTimeout(() => this.#expire(t), this.#config.timeoutMs),
    };
    if (path) t.io = open(path, 'wx', 0o600).catch((err: unknown) => this.#ioFailed(t, err));
    this.#active.set(key, t);
    return t;
  }

  #ioFailed(t: Transfer, err: unknown): undefined {
    t.ioError ??= err;
    return undefined;
  }

  #store(t: Transfer, d: Datagram): void {
    const { data, offset } = d;
    if (offset === t.hashed) {
      t.digest.update(data);
      t.hashed += data.length;
    }
    if (t.memory) {
      t.memory.set(data, offset);
      return;
    }
    if (t.ioError) return;
    if (this.#unwritten + data.length > MAX_UNWRITTEN_BYTES) {
      t.ioError = new Error(
        `receiver overrun: more than ${MAX_UNWRITTEN_BYTES} bytes waiting for the disk`,
      );
      t.batch = [];
      t.batchBytes = 0;
      return;
    }
    if (t.batchBytes > 0 && offset !== t.batchOffset + t.batchBytes) this.#flush(t);
    // The datagram's buffer is its own (not reused by dgram), so it can wait for the write.
    if (t.batchBytes === 0) t.batchOffset = offset;
    t.batch.push(data);
    t.batchBytes += data.length;
    this.#unwritten += data.length;
    if (t.batchBytes >= BATCH_BYTES) this.#flush(t);
  }

  /** Queues one write of the transfer's pending contiguous datagrams. */
  #flush(t: Transfer): void {
    const buffers = t.batch;
    const offset = t.batchOffset;
    const bytes = t.batchBytes;
    if (bytes === 0) return;
    t.batch = [];
    t.batchBytes = 0;
    t.io = t.io.then(async (file) => {
      if (file && !t.ioError) {
        await file.writev(buffers, offset).catch((err: unknown) => this.#ioFailed(t, err));
      }
      this.#unwritten -= bytes;
      return file;
    });
  }

  /** Waits for the writes and closes the spool file; then the data is all on disk. Never rejects. */
  async #settle(t: Transfer): Promise<void> {
    this.#flush(t);
    const file = await t.io;
    t.io = Promise.resolve(undefined);
    await file?.close().catch((err: unknown) => this.#ioFailed(t, err));
  }

  /** Closes and removes the spool file, if any. Never rejects. */
  async #discard(t: Transfer): Promise<void> {
    await this.#settle(t);
    if (t.path) await unlink(t.path).catch(() => {});
  }

  /** Checks a transfer whose datagrams are all in and posts it, or reports why not. Never rejects. */
  async #finish(t: Transfer): Promise<void> {
    await this.#settle(t);
    const name = `transfer ${t.number}`;
    let digest: Buffer | undefined;
    if (!t.ioError) {
      try {
        // Data that arrived out of order could not be hashed on the way: hash it now.
        digest = t.hashed === t.total ? t.digest.digest() : await this.#rehash(t);
      } catch (err) {
        t.ioError = err;
      }
    }
    if (!digest) {
      await this.#discard(t);
      const text = t.ioError instanceof Error ? t.ioError.message : String(t.ioError);
      this.#post({ type: 'lost', transfers: 1, reason: `${name} could not be spooled: ${text}` });
      return;
    }
    if (!t.hash || !t.header || !digest.equals(t.hash)) {
      await this.#discard(t);
      this.#post({ type: 'corrupt', reason: `${name}: sha-256 mismatch` });
      return;
    }
    const header = t.header;
    const bytes = t.memory;
    const transfer = bytes
      ? [header.buffer as ArrayBuffer, bytes.buffer as ArrayBuffer]
      : [header.buffer as ArrayBuffer];
    this.#post({ type: 'complete', header, size: t.total, bytes, path: t.path }, transfer);
  }

  async #rehash(t: Transfer): Promise<Buffer> {
    const digest = createHash('sha256');
    if (t.memory) return digest.update(t.memory).digest();
    for await (const chunk of createReadStream(t.path as string)) digest.update(chunk as Buffer);
    return digest.digest();
  }

  #expire(t: Transfer): void {
    this.#active.delete(t.key);
    const missing = t.seen.indexOf(0);
    this.#post({
      type: 'lost',
      transfers: 1,
      reason: `transfer ${t.number}: datagram ${missing} of ${t.count} missing for ${this.#config.timeoutMs} ms`,
    });
    this.#finishing = this.#finishing.then(() => this.#discard(t));
  }

  /** Drops every transfer in progress and removes their spool files; waits for the completed ones to be posted. */
  async close(): Promise<void> {
    const open = [...this.#active.values()];
    this.#active.clear();
    for (const t of open) clearTimeout(t.timer);
    await Promise.all([this.#finishing, ...open.map((t) => this.#discard(t))]);
  }
}
