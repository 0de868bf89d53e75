/**
 * A transfer progress line on stderr: bytes, rate, and for a known total a
 * bar, percentage and ETA. Shown only when stderr is a terminal (scripts and
 * pipes get clean output), redrawn at most ten times a second, and erased
 * when stopped, so that the result line printed next stands alone.
 */
import { type Readable, Transform } from 'node:stream';

/** Counts transferred bytes; a no-op when stderr is not a terminal. */
export interface Progress {
  add(bytes: number): void;
  /** Erases the line. Idempotent; later `add`s draw nothing. */
  stop(): void;
}

const REDRAW_MS = 100;
const BAR_WIDTH = 24;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `bytes` in the largest unit that keeps it at 1 or more: `14 B`, `1.5 KiB`, `3.2 GiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  return s < 60 ? `${Math.ceil(s)}s` : `${Math.floor(s / 60)}m${Math.ceil(s % 60)}s`;
}

/** The text of the line after `done` bytes in `seconds`, against `total` when known. */
function line(label: string, done: number, total: number | undefined, seconds: number): string {
  const rate = done / Math.max(seconds, 0.001);
  const speed = `${formatBytes(rate)}/s`;
  if (total === undefined) return `${label} ${formatBytes(done)} | ${speed}`;
  const share = total > 0 ? Math.min(done / total, 1) : 1;
  const filled = Math.round(share * BAR_WIDTH);
  const bar = `${'='.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}`;
  const eta = rate > 0 ? formatSeconds((total - done) / rate) : '?';
  const size = `${formatBytes(done)} / ${formatBytes(total)}`;
  return `${label} ${size} ${Math.floor(share * 100)}% [${bar}] ${speed} | ETA ${eta}`;
}

/** Starts a progress line for `total` bytes (or an unknown total) labelled `label`. */
export function progress(label: string, total?: number): Progress {
  const out = process.stderr;
  if (!out.isTTY || total === 0) return { add() {}, stop() {} };
  const start = Date.now();
  let done = 0;
  let drawn = 0;
  let stopped = false;
  const draw = () => {
    drawn = Date.now();
    const text = line(label, done, total, (drawn - start) / 1000);
    // Never wider than the terminal: a wrapped line could not be redrawn in place.
    out.write(`\r\x1b[K${text.slice(0, Math.max((out.columns || 80) - 1, 20))}`);
  };
  draw();
  return {
    add(bytes) {
      done += bytes;
      if (!stopped && Date.now() - drawn >= REDRAW_MS) draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      out.write('\r\x1b[K');
    },
  };
}

/** `source` piped through a pass-through that moves `bar` by each chunk's size. */
export function counted(source: Readable, bar: Progress): Readable {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bar.add(chunk.length);
      done(null, chunk);
    },
  });
  source.on('error', (err) => counter.destroy(err));
  return source.pipe(counter);
}
