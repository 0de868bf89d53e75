/**
 * What the application tests share: a simulator with one account of every
 * permission, a connection to its sender node, a temporary folder, and
 * subscribed connections to its receiver node, all closed by `close`.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type Connection, connect, msg } from '../../src/index.ts';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/sim/index.ts';

/** The account of the application tests. */
export const APP = { name: 'apps', pass: 'apps-pass' };

/** A simulator and what an application test uses of it. */
export interface AppSim {
  sim: Simulator;
  /** Logged in to the sender node's message interface. */
  sender: Connection;
  /** A temporary folder, removed by `close`. */
  dir: string;
  /** A new connection to the receiver node, subscribed to `ch`. */
  subscriber(ch: string): Promise<Connection>;
  close(): Promise<void>;
}

/** Starts a simulator (with `options` besides the account) for application tests. */
export async function startAppSim(
  options: Omit<SimulatorOptions, 'accounts'> = {},
): Promise<AppSim> {
  const sim = await startSimulator({ ...options, accounts: [{ ...APP, perms: ['*'] }] });
  const dir = await mkdtemp(join(tmpdir(), 'ddmw-apps-'));
  const sender = await connect(sim.sender.msgif, { auth: APP });
  const opened: Connection[] = [sender];
  return {
    sim,
    sender,
    dir,
    async subscriber(ch) {
      const conn = await connect(sim.receiver.subif, { auth: APP });
      opened.push(conn);
      await msg.subscribe(conn, ch);
      return conn;
    },
    async close() {
      for (const conn of opened) await conn.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The simulator of a test file's tests, read when a test runs (see {@link appSimForTests}). */
export interface TestAppSim {
  readonly sim: Simulator;
  readonly sender: Connection;
  /** A new connection to the receiver node, subscribed to `ch`. */
  subscriber(ch: string): Promise<Connection>;
  /** A fresh folder for one test, with the sub-folders named. */
  caseDir(...subfolders: string[]): Promise<string>;
}

/**
 * One {@link AppSim} for the tests of a file: started before them and
 * closed after them, by hooks this call registers.
 */
export function appSimForTests(): TestAppSim {
  let apps: AppSim | undefined;
  let cases = 0;
  before(async () => {
    apps = await startAppSim();
  });
  after(async () => {
    await apps?.close();
  });
  const started = () => {
    if (!apps) throw new Error('the simulator is used before the tests started it');
    return apps;
  };
  return {
    get sim() {
      return started().sim;
    },
    get sender() {
      return started().sender;
    },
    subscriber: (ch) => started().subscriber(ch),
    async caseDir(...subfolders) {
      const dir = join(started().dir, `case-${++cases}`);
      for (const sub of ['', ...subfolders]) await mkdir(join(dir, sub), { recursive: true });
      return dir;
    },
  };
}
