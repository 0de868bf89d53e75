/** Writing to a stream socket with backpressure, shared by sessions and push targets. */
import type { Socket } from 'node:net';

/**
 * Writes chunks to a socket, in order. Resolves at once, or once the socket
 * has drained when its buffer is full, so a caller that writes a large
 * payload in pieces and awaits each call gets backpressure. With `flushed`,
 * resolves only once the chunks have been handed to the system (or the
 * socket is gone): the caller may then reuse their buffers. Writes to a
 * closed socket are dropped (the promise still resolves).
 */
export function writeChunks(
  socket: Socket,
  chunks: readonly (Uint8Array | string)[],
  flushed = false,
): Promise<void> {
  if (!flushed) return writeChunksNow(socket, chunks) ?? Promise.resolve();
  return new Promise((resolve) => {
    for (const [i, chunk] of chunks.entries()) {
      if (socket.destroyed || !socket.writable) break;
      // Writes complete in order: the last one's callback means all are out (or failed).
      if (i < chunks.length - 1) socket.write(chunk);
      else return void socket.write(chunk, () => resolve());
    }
    resolve();
  });
}

/**
 * {@link writeChunks} without a promise when none is needed: `undefined`
 * when the socket took everything at once (or is gone), else a promise that
 * settles once it drained. For replies, where a promise each is measurable.
 */
export function writeChunksNow(
  socket: Socket,
  chunks: readonly (Uint8Array | string)[],
): Promise<void> | undefined {
  for (const chunk of chunks) {
    if (socket.destroyed || !socket.writable) return undefined;
    socket.write(chunk);
  }
  return socket.writableNeedDrain ? drained(socket) : undefined;
}

/** {@link writeChunksNow} of one chunk (no array to build and walk: a reply's path). */
export function writeNow(socket: Socket, chunk: Uint8Array | string): Promise<void> | undefined {
  if (socket.destroyed || !socket.writable) return undefined;
  socket.write(chunk);
  return socket.writableNeedDrain ? drained(socket) : undefined;
}

/** Resolves when the socket can take more data, or is gone. */
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
