/**
 * Where the parts of a received message go (`chooseStores`): the split of a
 * choice into one store per part, and every check that refuses a choice
 * before any byte of the message is read, with the message that says what
 * to choose instead. Pure functions over a header: no connection needed.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:buffer';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DdmwError } from '../../src/err.ts';
import { bufferLimit, chooseStores, DEFAULT_MAX_BUFFERED } from '../../src/msg/choose.ts';
import type { MsgInfo, StoreChoice } from '../../src/msg/index.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { literal } from '../helpers/literal.ts';

/** A header with `metaLen` bytes of metadata and `payloadLen` of payload. */
const info = (metaLen: number, payloadLen: number): MsgInfo => ({
  cmd: 3,
  ch: '7',
  xferId: 'x-1',
  metaLen,
  payloadLen,
});

/** The stores for `choice` (as returned by a storeq) of a message with the given lengths. */
const choose = (choice: StoreChoice, metaLen = 4, payloadLen = 10, maxBuffered?: number) =>
  chooseStores(info(metaLen, payloadLen), { storeq: () => choice, maxBuffered });

/** Expects `choice` to be refused with BAD_PARAMS and a message matching `text` (literally). */
async function refused(p: Promise<unknown>, text: string): Promise<DdmwError> {
  const err = await rejectsCode(p, 'BAD_PARAMS');
  assert.match(err.message, new RegExp(literal(text)));
  return err;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-choose-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('maxBuffered', () => {
  it('defaults to 64 MiB; a bad value names the range and what was given', () => {
    assert.equal(bufferLimit({}), DEFAULT_MAX_BUFFERED);
    assert.equal(bufferLimit({ maxBuffered: constants.MAX_LENGTH }), constants.MAX_LENGTH);
    for (const bad of [0, -1, 1.5, constants.MAX_LENGTH + 1]) {
      assert.throws(
        () => bufferLimit({ maxBuffered: bad }),
        (e: unknown) =>
          e instanceof DdmwError &&
          e.code === 'BAD_PARAMS' &&
          e.message ===
            `maxBuffered must be a positive integer of at most ${constants.MAX_LENGTH} bytes, got ${bad}`,
      );
    }
  });

  it('a part of exactly maxBuffered bytes is buffered; one byte more is refused, naming the way out', async () => {
    assert.deepEqual(await choose('bytes', 0, 100, 100), { meta: 'bytes', payload: 'bytes' });
    await refused(
      choose('bytes', 0, 101, 100),
      "The 101-byte payload is over the 100-byte limit for buffering in memory (maxBuffered): receive it as { file } or 'stream', or raise maxBuffered",
    );
    await refused(
      choose('params', 101, 0, 100),
      'The 101-byte metadata is over the 100-byte limit',
    );
    await refused(
      choose({ meta: 'kvlines', payload: 'none' }, 101, 5, 100),
      'The 101-byte metadata is over',
    );
  });

  it("only buffered stores are limited: 'none', 'stream' and files take any size", async () => {
    const big = 10 * DEFAULT_MAX_BUFFERED;
    assert.deepEqual(await choose('none', big, big), { meta: 'none', payload: 'none' });
    assert.deepEqual(await choose('stream', 10, big), { meta: 'bytes', payload: 'stream' });
    const file = { file: join(dir, 'big') };
    assert.deepEqual(await choose({ payload: file }, 0, big), { meta: 'none', payload: file });
  });
});

describe('the split of a choice into one store per part', () => {
  it("'stream' for both buffers the metadata and streams the payload", async () => {
    assert.deepEqual(await choose('stream', 4, 10), { meta: 'bytes', payload: 'stream' });
    assert.deepEqual(await choose('stream', 0, 10), { meta: 'bytes', payload: 'stream' });
  });

  it('no storeq means bytes for both; a part left out of { meta, payload } is none', async () => {
    assert.deepEqual(await chooseStores(info(4, 10), {}), { meta: 'bytes', payload: 'bytes' });
    assert.deepEqual(await choose({ payload: 'kvlines' }), { meta: 'none', payload: 'kvlines' });
    assert.deepEqual(await choose({ meta: 'params' }), { meta: 'params', payload: 'none' });
    assert.deepEqual(await choose({}), { meta: 'none', payload: 'none' });
  });

  it('one { file } serves a message with one part only; with both it asks for two paths', async () => {
    const file = { file: join(dir, 'one') };
    assert.deepEqual(await choose(file, 4, 0), { meta: file, payload: file });
    assert.deepEqual(await choose(file, 0, 10), { meta: file, payload: file });
    await refused(
      choose(file, 4, 10),
      `One file (${file.file}) was chosen for a message with metadata and payload: choose { meta: { file }, payload: { file } } with two paths`,
    );
  });

  it('a choice that is no store and no { meta, payload } is shown as given', async () => {
    await refused(
      choose({ Payload: 'bytes' } as never),
      'storeq chose {"Payload":"bytes"}: expected a store, or { meta, payload } with a store for each part',
    );
    await refused(
      choose({ meta: 'bytes', Payload: 'bytes' } as never),
      'storeq chose {"meta":"bytes","Payload":"bytes"}: expected a store',
    );
    await refused(choose(null as never), 'storeq chose null: expected a store');
    await refused(choose(undefined as never), 'storeq chose undefined: expected a store');
  });
});

describe('the store of each part', () => {
  it('an unknown store or an empty file name is refused, naming the part', async () => {
    const expected = "expected 'none', 'bytes', 'params', 'kvlines', 'stream' or { file: path }";
    await refused(
      choose({ meta: 'file' as never }),
      `storeq chose "file" for the metadata: ${expected}`,
    );
    await refused(choose({ payload: 'buffer' as never }), 'storeq chose "buffer" for the payload');
    await refused(choose({ payload: { file: '' } }), 'storeq chose {"file":""} for the payload');
    await refused(
      choose({ meta: { file: '' } }, 4, 0),
      'storeq chose {"file":""} for the metadata',
    );
  });

  it("metadata cannot be a 'stream' (the payload follows it), unless there is none", async () => {
    await refused(
      choose({ meta: 'stream', payload: 'bytes' }, 1, 10),
      "Metadata cannot be received as a 'stream'; choose another store for it",
    );
    assert.deepEqual(await choose({ meta: 'stream', payload: 'bytes' }, 0, 10), {
      meta: 'stream',
      payload: 'bytes',
    });
  });
});

describe('two files for one message', () => {
  it('the same path twice is refused, naming both', async () => {
    const meta = join(dir, 'same');
    const payload = join(dir, '.', 'same');
    await refused(
      choose({ meta: { file: meta }, payload: { file: payload } }),
      `The metadata (${meta}) and the payload (${payload}) would be stored in the same file: choose two paths`,
    );
  });

  it('the same path is accepted when one of the parts is empty (it is not stored)', async () => {
    const file = { file: join(dir, 'shared') };
    assert.deepEqual(await choose({ meta: file, payload: file }, 4, 0), {
      meta: file,
      payload: file,
    });
    assert.deepEqual(await choose({ meta: file, payload: file }, 0, 10), {
      meta: file,
      payload: file,
    });
  });

  it('a file beside a buffered part is accepted', async () => {
    const file = { file: join(dir, 'meta-only') };
    assert.deepEqual(await choose({ meta: file, payload: 'bytes' }), {
      meta: file,
      payload: 'bytes',
    });
    assert.deepEqual(await choose({ meta: 'bytes', payload: file }), {
      meta: 'bytes',
      payload: file,
    });
  });

  it('paths in a folder that does not exist (yet) are compared by name', async () => {
    const missing = join(dir, 'no-such-folder');
    const a = { file: join(missing, 'a') };
    const b = { file: join(missing, 'b') };
    assert.deepEqual(await choose({ meta: a, payload: b }), { meta: a, payload: b });
    await refused(
      choose({ meta: a, payload: { file: join(missing, '..', 'no-such-folder', 'a') } }),
      'would be stored in the same file',
    );
  });

  it('names that differ only in case are two files where the file system tells them apart', async () => {
    const caseBlind = process.platform === 'darwin' || process.platform === 'win32';
    const choice = { meta: { file: join(dir, 'Report') }, payload: { file: join(dir, 'report') } };
    if (caseBlind) await refused(choose(choice), 'would be stored in the same file');
    else assert.deepEqual(await choose(choice), choice);
  });
});

describe('storeq', () => {
  it('what it throws refuses the message, with its reason and the error as cause', async () => {
    const thrown = new Error('no room for cmd 3');
    const err = await refused(
      chooseStores(info(4, 10), {
        storeq: () => {
          throw thrown;
        },
      }),
      'storeq refused the message: no room for cmd 3',
    );
    assert.equal(err.cause, thrown);
  });

  it('gets a frozen copy of the header', async () => {
    let seen: MsgInfo | undefined;
    const header = info(4, 10);
    await chooseStores(header, {
      storeq: (i) => {
        seen = i;
        return 'none';
      },
    });
    assert.deepEqual(seen, header);
    assert.notEqual(seen, header);
    assert.ok(Object.isFrozen(seen));
  });
});
