/**
 * The `{ file }` store, through the public `recv` API: the part is written
 * under a temporary name in the target's folder (`.<name>.<random>.part`)
 * and renamed to the target once complete, so the target never exists
 * half-written; a transfer cut short leaves neither file. A scripted server
 * holds the second half of the payload back until the test has looked.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/conn/index.ts';
import { recv } from '../../src/msg/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { waitForAsync, within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { sha } from '../helpers/sha.ts';
import { pattern } from '../vectors/rust-client-transcript.ts';

const PAYLOAD = pattern(3 * 1024 * 1024 + 7, 5);
const HALF = PAYLOAD.length >> 1;
const TEMP = /^\.report\.bin\.[0-9a-f]+\.part$/;

let dir: string;
const { fake } = closedAfterFile();
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-file-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A subscription interface that sends one message: its header and the first
 * half of the payload, then, once `release` is called, the rest (or, with
 * `cut`, drops the connection instead).
 */
async function halfThenRest(cut = false): Promise<{ addr: string; release: () => void }> {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server = await fake(async ({ socket }) => {
    socket.write(`Msg\n_Ch 7\nXferId x-1\nLen ${PAYLOAD.length}\n\n`);
    socket.write(PAYLOAD.subarray(0, HALF));
    await released;
    if (cut) socket.destroy();
    else socket.write(PAYLOAD.subarray(HALF));
  });
  return { addr: server.addr, release };
}

/** Waits until the folder holds the temporary file and nothing else; returns its name. */
async function tempOnly(folder: string): Promise<string> {
  let names: string[] = [];
  await waitForAsync('the temporary file of the part in the target folder', async () => {
    names = await readdir(folder);
    return names.some((n) => TEMP.test(n));
  });
  assert.equal(names.length, 1, `only the temporary file while receiving: ${names}`);
  return names[0] as string;
}

describe('the { file } store', () => {
  it('writes under a temporary name beside the target and renames it when complete', async () => {
    const folder = await mkdtemp(join(dir, 'ok-'));
    const target = join(folder, 'report.bin');
    const { addr, release } = await halfThenRest();
    const conn = await connect(addr);
    const received = recv(conn, { storeq: () => ({ payload: { file: target } }) });
    await tempOnly(folder); // the target does not exist while half the payload is missing
    release();
    const m = await within(received, 5000, 'the message');
    assert.deepEqual(m.payload, { kind: 'file', path: target });
    assert.deepEqual(await readdir(folder), ['report.bin']);
    assert.equal(sha(await readFile(target)), sha(PAYLOAD));
    await conn.close();
  });

  it('leaves neither the target nor the temporary file when the transfer is cut short', async () => {
    const folder = await mkdtemp(join(dir, 'cut-'));
    const { addr, release } = await halfThenRest(true);
    const conn = await connect(addr);
    const received = recv(conn, {
      storeq: () => ({ payload: { file: join(folder, 'report.bin') } }),
    });
    await tempOnly(folder);
    release();
    await rejectsCode(within(received, 5000, 'the cut message'), 'DISCONNECTED');
    assert.deepEqual(await readdir(folder), []);
  });
});
