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
import { frameFootprint, writeFrame } from './ring.ts';

/** Puts frames on the wire, in order. */
export interface FrameTransport {
  /**
   * Sends one frame. The caller may change or reuse the frame's buffer once
   * this returns, or once the promise it returns settles (backpressure:
   * wait for it before the next frame).
   */
  send(frame: Buffer): Promise<void> | undefined;
  /** Closes the transport. Idempotent. */
  close(): Promise<void>;
}

/**
 * Bytes of the ring the channel transport writes frames into: the window
 * of its flow control.
 */
export const CHANNEL_WINDOW = 16 * 1024 * 1024;

/**
 * Frames through a ring in memory shared with the receiving end's thread
 * (ring.ts): a channel no other process can reach. The sender copies each
 * frame into the ring and tells the thread how far it has written; the
 * thread tells back how far it has read (a position, never data). The
 * sender waits while the ring is full.
 */
export class ChannelTransport implements FrameTransport {
  readonly #port: MessagePort;
  readonly #ring: Buffer;
  /** Bytes written into the ring, and bytes the reader has freed; both only grow. */
  #written = 0;
  #freed = 0;
  #waiting: (() => void) | undefined;
  /** A message telling the reader how far the ring is written is on its way. */
  #telling = false;
  #closed = false;

  constructor(port: MessagePort, ring: SharedArrayBuffer) {
    this.#port = port;
    this.#ring = Buffer.from(ring);
    port.on('message', (read: number) => {
      this.#freed = Math.max(this.#freed, read);
      const wake = this.#waiting;
      this.#waiting = undefined;
      wake?.();
    });
  }

  /** Whether `frame` fits in the ring's free space now. */
  #fits(frame: Buffer): boolean {
    const free = this.#ring.length - (this.#written - this.#freed);
    return frameFootprint(this.#ring, this.#written, frame) <= free;
  }

  async #room(frame: Buffer): Promise<void> {
    while (!this.#closed && !this.#fits(frame)) {
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
    }
  }

  send(frame: Buffer): Promise<void> | undefined {
    if (this.#closed) return undefined;
    if (frame.length + 8 > this.#ring.length) throw new Error('A frame larger than the ring');
    if (this.#fits(frame)) {
      this.#put(frame);
      return undefined;
    }
    return this.#room(frame).then(() => this.#put(frame));
  }

  #put(frame: Buffer): void {
    if (this.#closed) return;
    this.#written = writeFrame(this.#ring, this.#written, frame);
    // One message per turn of the event loop, however many frames went in.
    if (this.#telling) return;
    this.#telling = true;
    setImmediate(() => {
      this.#telling = false;
      if (!this.#closed) this.#port.postMessage(this.#written);
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#port.close();
    const wake = this.#waiting;
    this.#waiting = undefined;
    wake?.();
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
