/**
 * `ddmw --timeout`: it limits connecting, authenticating and each request.
 * The CLI runs as a child against scripted fake servers that stop answering.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { TestChild } from '../helpers/child.ts';
import { type FakeServer, hang, startFakeServer } from '../helpers/fake-server.ts';

const children: TestChild[] = [];
const servers: FakeServer[] = [];
after(async () => {
  for (const child of children) child.kill();
  await Promise.all(servers.map((s) => s.close()));
});

/** Runs `ddmw --timeout <ms> <args>` as account `cli`, without a config file. */
function ddmw(timeoutMs: number, ...args: string[]): TestChild {
  const child = new TestChild(
    'ddmw',
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      '--config',
      '/dev/null', // no config file
      '--name',
      'cli',
      '--timeout',
      String(timeoutMs),
      ...args,
    ],
    { ...process.env, DDMW_PASS: 'cli-pass' },
  );
  children.push(child);
  return child;
}

describe('ddmw --timeout', () => {
  it('limits each request: a WhoAmI never answered ends the command with exit code 3', async () => {
    const server = await startFakeServer(async ({ socket, reader }) => {
      await reader.readTelegram(); // Auth
      socket.write(encodeTelegram(new Telegram('Ok')));
      await hang({ socket, reader }); // never answers WhoAmI
    });
    servers.push(server);
    const child = ddmw(300, 'whoami', '--addr', server.addr);
    const exit = await child.exited(15_000); // well before the 30 s default
    assert.equal(exit.code, 3, child.stderr);
    assert.match(child.stderr, /WhoAmI request: no reply from .* within 300 ms/);
  });

  it('limits connecting and authenticating: an Auth never answered ends it too', async () => {
    const server = await startFakeServer(hang);
    servers.push(server);
    const child = ddmw(300, 'probe', '--addr', server.addr);
    const exit = await child.exited(15_000); // well before the 30 s default
    assert.equal(exit.code, 3, child.stderr);
    assert.match(child.stderr, /Auth request: no reply from .* within 300 ms/);
  });
});
