/**
 * Telegrams at and beyond the decoder's limits: one of an exact size, one
 * with an exact number of parameter lines, and a flood (a telegram that
 * never seems to end, made line by line as the socket takes them, so that a
 * test can send millions of lines without building them in memory).
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';

/** `n` parameter lines with distinct keys: `k0 v`, `k1 v`, ... */
export function paramLines(n: number): string {
  let text = '';
  for (let i = 0; i < n; i++) text += `k${i} v\n`;
  return text;
}

/** A telegram of exactly `size` bytes (at least 100), in lines of at most 60,000 bytes. */
export function telegramOfSize(topic: string, size: number): Buffer {
  const lines: number[] = [];
  let left = size - topic.length - 2; // the topic line and the empty line
  while (left > 120_000) {
    lines.push(60_000);
    left -= 60_000;
  }
  lines.push(Math.floor(left / 2), Math.ceil(left / 2));
  // Each line: its key, a space, x's, LF.
  const text = lines.map((n, i) => `k${i} ${'x'.repeat(n - `k${i} `.length - 1)}\n`).join('');
  const bytes = Buffer.from(`${topic}\n${text}\n`);
  assert.equal(bytes.length, size);
  return bytes;
}

/** Lines made per write. */
const BATCH = 1000;

/** Resolves when the socket can take more, or has closed. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/**
 * Writes `head`, then `count` lines made by `line(i)` (each with its LF),
 * then an empty line, stopping early when the socket closes. Resolves with
 * the number of lines written, so a test can tell how far the flood got.
 */
export async function flood(
  socket: Socket,
  head: string,
  count: number,
  line: (i: number) => string,
): Promise<number> {
  socket.write(head);
  let i = 0;
  while (i < count) {
    if (socket.destroyed) return i;
    let text = '';
    for (const end = Math.min(count, i + BATCH); i < end; i++) text += line(i);
    if (!socket.write(text) && !socket.destroyed) await drained(socket);
  }
  if (!socket.destroyed) socket.write('\n');
  return i;
}
