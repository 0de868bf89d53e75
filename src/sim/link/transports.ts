/**
 * How the sending end puts frames on the wire: on a flow-controlled channel
 * to the receiving end's thread (the sender waits while the receiving end
 * is busy: nothing is lost) or as UDP datagrams on loopback (nothing holds
 * the sender back: a busy receiving end loses datagrams, as behind a
 * physical diode). Either way no byte of the application's data ever flows
 * back; the channel's credits are its only reverse traffic.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { MessagePort } from 'node:worker_threads';

/** Puts frames on the wire, in order. */
export interface FrameTransport {
  /**
   * Sends one frame; the transport owns it from now on (the caller passes a
   * copy when it sends the same frame again). Returns a promise when the
   * caller must wait before the next frame (backpressure).
   */
  send(frame: Buffer): Promise<void> | undefined;
  /** Closes the transport. Idempotent. */
  close(): Promise<void>;
}

/**
 * Bytes of frames the channel transport may have on the way before the
 * sending end waits for the receiving end to take some: the window of its
 * flow control.
 */
export const CHANNEL_WINDOW = 16 * 1024 * 1024;

/**
 * Frames on a `MessagePort` to the receiving end's thread: a channel no
 * other process can reach. Flow control is by credit: the receiving end
 * hands back the bytes it has taken (a number, never data), and the sender
 * waits while {@link CHANNEL_WINDOW} bytes are on the way.
 */
export class ChannelTransport implements FrameTransport {
  readonly #port: MessagePort;
  #credit = CHANNEL_WINDOW;
  #waiting: (() => void) | undefined;
  #closed = false;

  constructor(port: MessagePort) {
    this.#port = port;
    port.on('message', (taken: number) => {
      this.#credit += taken;
      if (this.#credit > 0) this.#wake();
    });
  }

  #wake(): void {
    const wake = this.#waiting;
    this.#waiting = undefined;
    wake?.();
  }

  send(frame: Buffer): Promise<void> | undefined {
    if (this.#closed) return undefined;
    // Moved, not copied: a frame in a buffer of its own is handed over as it is.
    let own = frame;
    if (frame.byteOffset !== 0 || frame.buffer.byteLength !== frame.length) {
      own = Buffer.allocUnsafeSlow(frame.length);
      frame.copy(own);
    }
    this.#port.postMessage(own, [own.buffer as ArrayBuffer]);
    this.#credit -= frame.length;
    if (this.#credit > 0) return undefined;
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#port.close();
    this.#wake();
    return Promise.resolve();
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
