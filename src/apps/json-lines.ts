/**
 * Reading a file of JSON lines (ledgers, journals) line by line with
 * bounded memory: a line longer than {@link MAX_JSON_LINE} or one that is
 * not JSON is `BAD_INPUT` naming the file and line; a last line without
 * its newline (a writer stopped mid-line) is reported through `onWarning`
 * and skipped; a file that cannot be read is `IO`.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { DdmwError } from '../index.ts';

/** Longest line read (64 KiB): entries are a few hundred bytes. */
export const MAX_JSON_LINE = 64 * 1024;

/** A parsed line and its number (from 1). */
export interface JsonLine {
  /** The parsed JSON. */
  value: unknown;
  /** Its line number, from 1. */
  line: number;
}

function parse(text: string, path: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new DdmwError('BAD_INPUT', `${path}:${line}: not a JSON line`);
  }
}

function notOurs(path: string): DdmwError {
  return new DdmwError(
    'BAD_INPUT',
    `${path} does not end with a line of JSON: is this the right file? (nothing was changed)`,
  );
}

function tooLong(path: string, line: number): DdmwError {
  const where = line > 0 ? `${path}:${line}` : `${path} (its last line)`;
  return new DdmwError(
    'BAD_INPUT',
    `${where}: line longer than ${MAX_JSON_LINE} bytes: is this the right file?`,
  );
}

/** Yields the JSON values of the lines of `path` in order; see the file's header. */
export async function* readJsonLines(
  path: string,
  onWarning: (warning: string) => void = () => {},
): AsyncGenerator<JsonLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  const stream = createReadStream(path);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, from)) {
        const text = Buffer.concat([...pending, chunk.subarray(from, nl)]).toString('utf8');
        pending = [];
        pendingBytes = 0;
        from = nl + 1;
        line++;
        if (text.length > MAX_JSON_LINE) throw tooLong(path, line);
        if (text.trim() !== '') yield { value: parse(text, path, line), line };
      }
      if (from < chunk.length) {
        pending.push(chunk.subarray(from));
        pendingBytes += chunk.length - from;
        if (pendingBytes > MAX_JSON_LINE) throw tooLong(path, line + 1);
      }
    }
  } catch (err) {
    if (err instanceof DdmwError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new DdmwError('IO', `Cannot read ${path}: ${reason}`, { cause: err });
  } finally {
    stream.destroy();
  }
  if (pendingBytes > 0) onWarning(`${path}:${line + 1}: incomplete last line skipped`);
}

/**
 * Opens (or creates) a file of JSON lines for appending. A torn last line
 * (a writer stopped mid-line) is cut off first: appended to, it would turn
 * into a malformed line in the middle, and the file could no longer be
 * read. `IO` when the file cannot be opened, `BAD_INPUT` when its last line
 * is too long to be one.
 */
export async function openForAppending(path: string): Promise<FileHandle> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'a+', 0o644);
    const { size } = await fh.stat();
    const span = Math.min(size, MAX_JSON_LINE + 1);
    const tail = Buffer.alloc(span);
    const { bytesRead } = span > 0 ? await fh.read(tail, 0, span, size - span) : { bytesRead: 0 };
    if (bytesRead > 0 && tail[bytesRead - 1] !== 10) {
      const newline = tail.subarray(0, bytesRead).lastIndexOf(10);
      if (newline < 0 && span < size) throw tooLong(path, 0);
      // Every line is a JSON object: anything else is not a torn line but another kind of file.
      if (tail[newline + 1] !== 0x7b) throw notOurs(path);
      await fh.truncate(size - span + newline + 1);
    }
    return fh;
  } catch (err) {
    await fh?.close();
    if (err instanceof DdmwError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new DdmwError('IO', `Cannot open ${path} for appending: ${reason}`, { cause: err });
  }
}

/** Appends `line` whole (a write may take fewer bytes than asked). */
export async function appendAll(fh: FileHandle, line: Buffer): Promise<void> {
  for (let at = 0; at < line.length; ) at += (await fh.write(line, at)).bytesWritten;
}
