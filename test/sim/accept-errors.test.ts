/**
 * Connections an interface cannot accept. Out of file descriptors (`ddmw
 * sim` under `ulimit -n`, its connection limit set above that), libuv
 * accepts and closes the connections beyond at once, mostly without
 * telling; the simulator survives and serves new connections once others
 * close. An accept error that is reported is logged (once per run of
 * them), and the interface keeps listening.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InterfaceListener } from '../../src/sim/node/listener.ts';
import { TestChild } from '../helpers/child.ts';
import { ddmwArgs } from '../helpers/ddmw.ts';
import { within } from '../helpers/deadline.ts';
import { connectTo, expectOk, type WireClient } from './wire-client.ts';

/** Descriptors the simulator process may open: enough to start, too few for the connections below. */
const FD_LIMIT = 160;
const CONNECTIONS = 300;

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Connects, or `undefined` when the connection is refused or reset on the way. */
function tryConnect(address: string): Promise<WireClient | undefined> {
  return connectTo(address).then(
    (c) => {
      cleanups.push(() => c.socket.destroy());
      return c;
    },
    () => undefined,
  );
}

/** Opens a listener on a free port and returns it with the server it listens with. */
async function listenerAndServer(log: string[]) {
  const create = net.createServer;
  let server: net.Server | undefined;
  // The listener's own server, caught on its way out of node:net, so that the test can make it report an error.
  net.createServer = ((...args: Parameters<typeof create>) => {
    server = create(...args);
    return server;
  }) as typeof create;
  syncBuiltinESMExports();
  try {
    const listener = await InterfaceListener.open({
      endpoint: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      commands: new Map(),
      interfaceName: 'the test interface',
      label: 'test',
      log: (line) => log.push(line),
      maxConnections: 10,
      timeouts: { loginMs: 60_000, stallMs: 60_000, onTimeout: () => {} },
      onRefused: () => {},
      onEvicted: () => {},
    });
    cleanups.push(() => listener.close());
    assert.ok(server, 'the listener made its server');
    return { listener, server };
  } finally {
    net.createServer = create;
    syncBuiltinESMExports();
  }
}

describe('accept errors', () => {
  it('a reported accept error is logged once per run, and the interface keeps listening', async () => {
    const log: string[] = [];
    const { listener, server } = await listenerAndServer(log);
    const emfile = () =>
      Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' });
    for (let i = 0; i < 3; i++) server.emit('error', emfile());
    assert.deepEqual(log.slice(1), ['test refusing connections: accept failed: accept EMFILE']);

    const c = await tryConnect(listener.address);
    assert.ok(c, 'a new connection');
    const reply = await within(c.request('WhoAmI'), 5000, 'the reply after the errors');
    assert.equal(reply.topic, 'Fail'); // no commands in this interface: served, and refused
    assert.ok(
      log.includes('test accepting connections again (3 refused meanwhile)'),
      log.join('\n'),
    );
  });

  it('out of file descriptors, the simulator survives and serves again once connections close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ddmw-emfile-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const config = join(dir, 'sim.toml');
    await writeFile(config, '[limits]\nmax-connections = 100000\n');
    const script = `ulimit -n ${FD_LIMIT} && exec "${process.execPath}" "$@"`;
    const child = new TestChild(
      'ddmw sim (ulimit -n)',
      'bash',
      ['-c', script, 'bash', ...ddmwArgs('sim', '--sim-config', config, '--log')],
      process.env,
    );
    cleanups.push(() => child.kill());
    const [, msgif] = await child.waitFor('stdout', /sender +msgif +(\S+)/, 'the banner');
    const address = msgif as string;

    const clients: WireClient[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const c = await tryConnect(address);
      if (c) clients.push(c);
    }
    // The connections beyond the descriptors are closed by the simulator's side at once.
    let settled = 0;
    const open = await within(
      Promise.all(
        clients.map((c) =>
          Promise.race([c.closed.then(() => false), c.request('WhoAmI').then(() => true)])
            .catch(() => false)
            .finally(() => settled++),
        ),
      ),
      60_000,
      'each connection to be served or closed',
      () => `${settled} of ${clients.length} were`,
    );
    const served = open.filter(Boolean).length;
    assert.ok(served > 0 && served < CONNECTIONS, `${served} of ${CONNECTIONS} served`);

    // Once the served connections are closed, their descriptors are free again.
    for (const c of clients) c.socket.destroy();
    // Lines counted, not matched as a whole: a pattern repeated `served` times backtracks without end on a long log.
    const closedLines = () => child.stderr.match(/sender\/msgif#\d+ closed$/gm)?.length ?? 0;
    await child.waitUntil(
      () => (closedLines() >= served ? true : undefined),
      `the ${served} served connections closing`,
      30_000,
    );
    const fresh = await within(connectTo(address), 5000, 'a new connection');
    cleanups.push(() => fresh.socket.destroy());
    const name = await within(expectOk(fresh, 'WhoAmI'), 5000, 'the reply to a new connection');
    assert.equal(name.Name, 'unauthenticated');
    const exit = await child.stop();
    assert.equal(exit.code, 0, child.stderr);
  });
});
