/**
 * A transfer progress bar on stderr (bytes, rate, ETA), shown only when
 * stderr is a terminal, so scripts and pipes get clean output.
 */
import { type Readable, Transform } from 'node:stream';
import { Bar, Presets } from 'cli-progress';

/** Counts transferred bytes; a no-op when stderr is not a terminal. */
export interface Progress {
  add(bytes: number): void;
  stop(): void;
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** Starts a progress bar for `total` bytes labelled `label`. */
export function progress(label: string, total: number): Progress {
  if (!process.stderr.isTTY || total === 0) return { add() {}, stop() {} };
  const bar = new Bar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {done}/{size} MiB | {rate} MiB/s | ETA {eta_formatted}`,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  const start = Date.now();
  let done = 0;
  bar.start(total, 0, { done: '0.0', size: mib(total), rate: '0.0' });
  return {
    add(bytes) {
      done += bytes;
      const seconds = Math.max((Date.now() - start) / 1000, 0.001);
      bar.update(done, { done: mib(done), rate: mib(done / seconds) });
    },
    stop() {
      bar.stop();
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
