/**
 * How the sending end puts frames on the wire: on a local stream (a Unix
 * socket whose kernel flow control holds the sender back while the
 * receiving end is busy: nothing is lost) or as UDP datagrams on loopback
 * (nothing holds the sender back: a busy receiving end loses datagrams, as
 * behind a physical diode). Either way no byte of the application's data
 * ever flows back; the stream's acknowledgements are the kernel's own.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

/** Puts frames on the wire, in order. */
export interface FrameTransport {
  /**
   * Sends one frame; the transport owns it from now on. Returns a promise
   * when the caller must wait before the next frame (backpressure).
   */
  send(frame: Buffer): Promise<void> | undefined;
  /** Closes the transport. Idempotent. */
  close(): Promise<void>;
}

/** Bytes of the length that precedes each frame on the stream. */
export const LENGTH_PREFIX = 4;

/** Frames on a Unix socket, each preceded by its length (u32, big-endian). */
export class StreamTransport implements FrameTransport {
  readonly #socket: Socket;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  static async open(path: string, onError: (err: Error) => void): Promise<StreamTransport> {
    const socket = connect(path);
    await once(socket, 'connect');
    socket.on('error', onError);
    return new StreamTransport(socket);
  }

  send(frame: Buffer): Promise<void> | undefined {
    const length = Buffer.allocUnsafe(LENGTH_PREFIX);
    length.writeUInt32BE(frame.length, 0);
    const socket = this.#socket;
    if (socket.destroyed) return undefined;
    socket.cork();
    socket.write(length);
    const more = socket.write(frame);
    socket.uncork();
    if (more) return undefined;
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

  close(): Promise<void> {
    const socket = this.#socket;
    if (socket.closed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      // A receiving end that stopped reading must not keep the sender open.
      setTimeout(() => socket.destroy(), 2000).unref();
    });
  }
}

/** Frames as UDP datagrams to 127.0.0.1. */
export class UdpTransport implements FrameTransport {
  readonly #socket: UdpSocket;
  readonly #onError: (err: Error) => void;
  #closed: Promise<void> | undefined;

  private constructor(socket: UdpSocket, onError: (err: Error) => void) {
    this.#socket = socket;
    this.#onError = onError;
  }

  static async open(port: number, onError: (err: Error) => void): Promise<UdpTransport> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', onError);
    return new UdpTransport(socket, onError);
  }

  send(frame: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) {
        resolve();
        return;
      }
      this.#socket.send(frame, (err) => {
        // A failed send is a lost datagram, as on a real link: the receiving end notices.
        if (err) this.#onError(err);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => this.#socket.close(() => resolve()));
    return this.#closed;
  }
}
