/**
 * Fake servers and connections a test file opens, all closed when the file
 * ends (whatever its tests did), so that a failed test leaves nothing open.
 */
import { after } from 'node:test';
import { type Connection, type ConnectOptions, connect } from '../../src/conn/index.ts';
import { type FakeConn, type FakeServer, startFakeServer } from './fake-server.ts';

/** Registers the file's `after` hook; returns how to open what it closes. */
export function closedAfterFile() {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    await Promise.all(cleanups.map((c) => c()));
  });
  return {
    /** Registers something else to close. */
    defer(close: () => Promise<void>): void {
      cleanups.push(close);
    },
    /** Starts a scripted fake server. */
    async fake(script: (conn: FakeConn) => Promise<void> | void): Promise<FakeServer> {
      const s = await startFakeServer(script);
      cleanups.push(() => s.close());
      return s;
    },
    /** Connects. */
    async open(addr: string, options?: ConnectOptions): Promise<Connection> {
      const conn = await connect(addr, options);
      cleanups.push(() => conn.close());
      return conn;
    },
  };
}
