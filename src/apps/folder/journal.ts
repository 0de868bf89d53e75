/**
 * The folder sender's journal: a file of JSON lines in the folder itself
 * (`.ddmw-send-journal`), so that a restart neither sends again what was
 * sent nor skips what was not. A `sent` line is appended once the node has
 * taken a file; a `done` line once the file was moved or deleted after
 * sending (`after`), which forgets it. A file counts as sent while its path,
 * size and modification time are those of a `sent` line not yet done (as
 * rsync's quick check: a file rewritten with the same size and time is not
 * noticed).
 *
 * A crash between the node's acknowledgement and the `sent` line sends
 * that file again on restart (at least once, never never); one between
 * the move or deletion and the `done` line is finished on restart.
 */
import { type FileHandle, open, rename } from 'node:fs/promises';
import { DdmwError } from '../../index.ts';
import { appendAll, openForAppending, readJsonLines } from '../json-lines.ts';

/** The journal's name in the folder. */
export const JOURNAL_NAME = '.ddmw-send-journal';

/** A file the journal knows as sent. */
export interface JournalFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** One line. */
type JournalLine = JournalFile & { state: 'sent' | 'done'; xferId?: string; time: string };

function isLine(v: unknown): v is JournalLine {
  const l = v as Partial<JournalLine>;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof l.path === 'string' &&
    typeof l.size === 'number' &&
    typeof l.mtimeMs === 'number' &&
    (l.state === 'sent' || l.state === 'done')
  );
}

/** Lines kept before the journal is rewritten at open with only what it still knows. */
const COMPACT_AFTER = 1000;

/** Times are compared to the millisecond (file transfers carry them so). */
const same = (a: JournalFile, b: JournalFile) =>
  a.path === b.path && a.size === b.size && Math.round(a.mtimeMs) === Math.round(b.mtimeMs);

/** An open journal; see the file's header. */
export class Journal {
  readonly path: string;
  readonly #sent: Map<string, JournalLine>;
  #fh: FileHandle;

  private constructor(path: string, sent: Map<string, JournalLine>, fh: FileHandle) {
    this.path = path;
    this.#sent = sent;
    this.#fh = fh;
  }

  /** Opens (or creates) the journal at `path`; a malformed line is `BAD_INPUT` naming it. */
  static async open(path: string): Promise<Journal> {
    const sent = new Map<string, JournalLine>();
    let lines = 0;
    try {
      for await (const { value, line } of readJsonLines(path)) {
        if (!isLine(value)) throw new DdmwError('BAD_INPUT', `${path}:${line}: not a journal line`);
        lines++;
        if (value.state === 'sent') sent.set(value.path, value);
        else if (sent.has(value.path) && same(sent.get(value.path) as JournalLine, value))
          sent.delete(value.path);
      }
    } catch (err) {
      const missing = (err as { cause?: { code?: string } }).cause?.code === 'ENOENT';
      if (!missing) throw err;
    }
    if (lines > COMPACT_AFTER && lines > 2 * sent.size) await rewrite(path, sent.values());
    return new Journal(path, sent, await openForAppending(path));
  }

  /** Whether `file`, as it is now, was sent (and is not done). */
  isSent(file: JournalFile): boolean {
    const line = this.#sent.get(file.path);
    return line !== undefined && same(line, file);
  }

  /** Records `file` as sent, as transfer `xferId`. */
  async sent(file: JournalFile, xferId: string): Promise<void> {
    const line: JournalLine = { ...pick(file), state: 'sent', xferId, time: now() };
    await this.#append(line);
    this.#sent.set(file.path, line);
  }

  /** Records `file` as moved or deleted after sending: it is forgotten. */
  async done(file: JournalFile): Promise<void> {
    await this.#append({ ...pick(file), state: 'done', time: now() });
    this.#sent.delete(file.path);
  }

  async #append(line: JournalLine): Promise<void> {
    try {
      await appendAll(this.#fh, Buffer.from(`${JSON.stringify(line)}\n`));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new DdmwError('IO', `Cannot write the journal ${this.path}: ${reason}`, {
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

const now = () => new Date().toISOString();
const pick = ({ path, size, mtimeMs }: JournalFile): JournalFile => ({
  path,
  size,
  mtimeMs: Math.round(mtimeMs),
});

/** Whether `file` is the temporary copy a rewrite of the journal at `journal` makes. */
export function isRewriteOf(file: string, journal: string): boolean {
  return file.startsWith(`${journal}.`) && /^\.\d+\.tmp$/.test(file.slice(journal.length));
}

/** Rewrites the journal with `lines` only: a new file, renamed over the old one. */
async function rewrite(path: string, lines: Iterable<JournalLine>): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const text = [...lines].map((l) => `${JSON.stringify(l)}\n`).join('');
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
