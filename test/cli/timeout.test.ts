/**
 * `ddmw --timeout`: it limits connecting, authenticating and each request.
 * The CLI runs as a child against scripted fake servers that stop answering.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { killedAfterEach, TestChild } from '../helpers/child.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { ddmwArgs } from '../helpers/ddmw.ts';
import { hang } from '../helpers/fake-server.ts';

const track = killedAfterEach();
const { fake } = closedAfterFile();

/** Runs `ddmw --timeout <ms> <args>` as account `cli`, without a config file. */
function ddmw(timeoutMs: number, ...args: string[]): TestChild {
  return track(
    new TestChild(
      'ddmw',
      process.execPath,
      // No config file.
      ddmwArgs('--config', '/dev/null', '--name', 'cli', '--timeout', String(timeoutMs), ...args),
      { ...process.env, DDMW_PASS: 'cli-pass' },
    ),
  );
}

describe('ddmw --timeout', () => {
  it('limits each request: a WhoAmI never answered ends the command with exit code 3', async () => {
    const server = await fake(async ({ socket, reader }) => {
      await reader.readTelegram(); // Auth
      socket.write(encodeTelegram(new Telegram('Ok')));
      await hang({ socket, reader }); // never answers WhoAmI
    });
    const child = ddmw(300, 'whoami', '--addr', server.addr);
    const exit = await child.exited(15_000); // well before the 30 s default
    assert.equal(exit.code, 3, child.stderr);
    assert.match(child.stderr, /WhoAmI request: no reply from .* within 300 ms/);
  });

  it('limits connecting and authenticating: an Auth never answered ends it too', async () => {
    const server = await fake(hang);
    const child = ddmw(300, 'probe', '--addr', server.addr);
    const exit = await child.exited(15_000); // well before the 30 s default
    assert.equal(exit.code, 3, child.stderr);
    assert.match(child.stderr, /Auth request: no reply from .* within 300 ms/);
  });
});
