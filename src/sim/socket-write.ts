/** Writing to a stream socket with backpressure, shared by sessions and push targets. */
import type { Socket } from 'node:net';

/**
 * Writes chunks to a socket, in order. Resolves at once, or once the socket
 * has drained when its buffer is full, so a caller that writes a large
 * payload in pieces and awaits each call gets backpressure. Writes to a
 * closed socket are dropped (the promise still resolves).
 */
export function writeChunks(socket: Socket, chunks: readonly Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    if (socket.destroyed || !socket.writable) return Promise.resolve();
    socket.write(chunk);
  }
  return socket.writableNeedDrain ? drained(socket) : Promise.resolve();
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
