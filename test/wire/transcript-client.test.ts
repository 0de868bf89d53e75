/**
 * Our client's requests against the Rust client's transcript
 * (test/vectors/rust-client-transcript.ts): for every row, our client
 * performs the operation against a recording fake interface, and the bytes
 * it wrote, decoded with the real decoder, must carry the row's topic and
 * parameter set (order-insensitive, lists as sets) and be as long as the
 * row's bytes. What follows a `Msg` telegram must be the row's parts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeParams } from '../../src/blather/index.ts';
import { type Connection, connect, whoami } from '../../src/conn/index.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { sha } from '../helpers/sha.ts';
import {
  ALL_ROWS,
  type CallContext,
  CMD_ZERO,
  isMsgRow,
  MSG_ROWS,
  type MsgRow,
  metaBytes,
  NOTHING_TO_CHANGE,
  payloadBytes,
  type RequestRow,
} from '../vectors/rust-client-transcript.ts';
import { canonical, FAKE_TOKEN, type Recorder, splitRequest, startRecorder } from './capture.ts';

let recorder: Recorder;
let dir: string;

before(async () => {
  recorder = await startRecorder();
  dir = await mkdtemp(join(tmpdir(), 'ddmw-transcript-'));
});
after(async () => {
  await recorder.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs a row's client call on a fresh connection; returns every byte it wrote. */
async function capture(
  operation: string,
  call: (conn: Connection, ctx: CallContext) => Promise<unknown>,
): Promise<Buffer> {
  const ctx: CallContext = { token: FAKE_TOKEN, dir: await mkdtemp(join(dir, 'row-')) };
  const conn = await connect(recorder.addr);
  try {
    await within(call(conn, ctx), 20_000, `our client's "${operation}"`);
  } finally {
    await conn.close();
  }
  return recorder.lastBytes();
}

/** The row's request with `<token>` replaced, decoded: what our request must equal. */
async function expected(row: RequestRow): Promise<{ bytes: Buffer; canon: object }> {
  const bytes = Buffer.from(row.request.replace('<token>', FAKE_TOKEN));
  const { tg, rest } = await splitRequest(bytes);
  assert.equal(rest.length, 0, `row "${row.operation}" holds exactly one telegram`);
  return { bytes, canon: canonical(tg) };
}

/** Checks the parts after a `Msg` telegram: the row's metadata, then its payload. */
async function checkParts(row: MsgRow, rest: Buffer): Promise<void> {
  const meta = metaBytes(row);
  const payload = payloadBytes(row);
  assert.equal(rest.length, meta.length + payload.length, 'metadata + payload bytes');
  const sentMeta = rest.subarray(0, meta.length);
  if (typeof row.meta === 'string') {
    // A params block: same pairs, any order.
    const got = (await decodeParams(sentMeta)).toObject();
    assert.deepEqual(got, (await decodeParams(meta)).toObject(), 'metadata params');
  } else {
    assert.ok(sentMeta.equals(meta), 'metadata bytes');
  }
  assert.equal(sha(rest.subarray(meta.length)), sha(payload), 'payload bytes');
}

describe('our requests equal the Rust client transcript', () => {
  for (const row of ALL_ROWS) {
    it(row.operation, async () => {
      const want = await expected(row);
      const bytes = await capture(row.operation, row.call);
      const { tg, raw, rest } = await splitRequest(bytes);
      assert.deepEqual(canonical(tg), want.canon);
      assert.equal(raw.length, want.bytes.length, 'the request is as long as the row');
      if (isMsgRow(row)) await checkParts(row, rest);
      else assert.equal(rest.length, 0, 'nothing follows the request');
    });
  }
});

describe('zero values are left out (pinned by bytes)', () => {
  /** The request's lines, sorted: its exact bytes up to the order of parameters. */
  const lines = (bytes: Buffer) => bytes.toString('utf8').split('\n').sort();

  for (const operation of ['payload only, cmd 2', 'metadata only, cmd 3', 'empty, cmd 4']) {
    it(`MetaLen and Len: ${operation}`, async () => {
      const row = MSG_ROWS.find((r) => r.operation === operation) as MsgRow;
      const { raw } = await splitRequest(await capture(operation, row.call));
      assert.deepEqual(lines(raw), lines(Buffer.from(row.request)));
      const keys = lines(raw).map((line) => line.split(' ')[0]);
      assert.equal(keys.includes('MetaLen'), row.meta !== undefined);
      assert.equal(keys.includes('Len'), row.payloadLen !== undefined);
    });
  }
  it('Cmd: cmd 0', async () => {
    const { tg, raw } = await splitRequest(await capture(CMD_ZERO.operation, CMD_ZERO.call));
    assert.equal(tg.params.has(CMD_ZERO.absentKey), false);
    assert.equal(raw.toString('utf8'), 'Msg\n_Ch 7\n\n');
  });
});

describe('a WrAcc with nothing to change', () => {
  it('is refused before anything is sent (the Rust client sends it and the server refuses)', async () => {
    const conn = await connect(recorder.addr);
    await rejectsCode(NOTHING_TO_CHANGE.call(conn), 'BAD_PARAMS');
    await whoami(conn); // the next request is the first bytes on the connection
    assert.equal(recorder.lastBytes().toString('utf8'), 'WhoAmI\n\n');
    await conn.close();
  });
});
