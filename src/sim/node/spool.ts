/**
 * Spooling: where message bytes wait while they move through the simulator.
 * Small parts stay in memory; larger ones go to files in one temporary
 * folder per simulator (under `os.tmpdir()`), removed when it closes.
 * Nothing larger than {@link MEMORY_LIMIT} is ever held whole in memory.
 */
import { type FileHandle, mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FrameReader } from '../../blather/index.ts';

/** Parts of at most this many bytes are kept in memory (64 KiB). */
export const MEMORY_LIMIT = 64 * 1024;

/** Bytes in memory, or in a spool file. */
export type Spooled =
  | { kind: 'memory'; bytes: Buffer }
  | { kind: 'file'; path: string; size: number };

/** Size of a spooled part in bytes. */
export function spooledSize(part: Spooled): number {
  return part.kind === 'memory' ? part.bytes.length : part.size;
}

/** Removes the spool file of a part, if it has one. Never throws. */
export async function discard(part: Spooled): Promise<void> {
  if (part.kind === 'file') await unlink(part.path).catch(() => {});
}

/** The spool folder of one simulator. */
export class Spool {
  /** The folder; spool files are created in it. */
  readonly dir: string;
  #files = 0;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates a fresh folder under the system's temporary folder. */
  static async create(): Promise<Spool> {
    return new Spool(await mkdtemp(join(tmpdir(), 'ddmw-sim-spool-')));
  }

  /** A new, unused file path in the folder. */
  newPath(prefix: string): string {
    return join(this.dir, `${prefix}-${++this.#files}`);
  }

  /**
   * Reads the next `size` raw bytes of a connection into a spooled part:
   * into memory when small, else streamed to a new spool file as they
   * arrive (each write awaited, so a slow disk slows the socket reads).
   * Rejects like the reader does; on any failure nothing is left behind.
   */
  async receive(reader: FrameReader, size: number): Promise<Spooled> {
    if (size <= MEMORY_LIMIT) return { kind: 'memory', bytes: await reader.readBytes(size) };
    const path = this.newPath('in');
    await reader.readToFile(path, size, { mode: 0o600 });
    return { kind: 'file', path, size };
  }

  /** Removes the folder and everything in it. */
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Reads a sequence of spooled parts front to back as one run of bytes,
 * straight into the caller's buffer (a file part is read with positioned
 * reads, never whole).
 */
export class SpooledReader {
  readonly #parts: readonly Spooled[];
  #index = 0;
  #pos = 0;
  #file: FileHandle | undefined;

  constructor(parts: readonly Spooled[]) {
    this.#parts = parts;
  }

  /** Fills `into[at .. at+length)` with the next `length` bytes. */
  async read(into: Buffer, at: number, length: number): Promise<void> {
    while (length > 0) {
      const part = this.#parts[this.#index];
      if (!part) throw new Error('Spooled data ended early');
      const n = Math.min(spooledSize(part) - this.#pos, length);
      if (n === 0) {
        await this.#nextPart();
        continue;
      }
      if (part.kind === 'memory') {
        part.bytes.copy(into, at, this.#pos, this.#pos + n);
      } else {
        this.#file ??= await open(part.path, 'r');
        for (let done = 0; done < n; ) {
          const { bytesRead } = await this.#file.read(into, at + done, n - done, this.#pos + done);
          if (bytesRead === 0) throw new Error(`Spool file ${part.path} is shorter than expected`);
          done += bytesRead;
        }
      }
      this.#pos += n;
      at += n;
      length -= n;
    }
  }

  async #nextPart(): Promise<void> {
    await this.close();
    this.#index++;
    this.#pos = 0;
  }

  /** Closes the open spool file, if any. */
  async close(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close();
  }
}
