/**
 * The simulator accepts the Rust client's requests exactly as written
 * (test/vectors/rust-client-transcript.ts): each row's bytes go unchanged
 * down a raw socket (only `<token>` is replaced by a real token), the reply
 * must be `Ok`, and the row's effect must show: a login in `WhoAmI`, a
 * message at a subscriber with the right command, channel, lengths and
 * bytes, an account change in a later `RdAcc`. Together with
 * transcript-client.test.ts this keeps a misunderstanding shared by our
 * client and our simulator from passing.
 *
 * The account rows run in table order on one simulator, each on the state
 * the rows before it left (jane is account 2, bob 3); the account with id 99
 * comes from a state file whose ids were edited.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';
import {
  expectFail,
  expectOk,
  readMsg,
  sendMsg,
  type WireClient,
  WireClients,
} from '../sim/wire-client.ts';
import {
  ACCOUNT_ROWS,
  MSG_ROWS,
  metaBytes,
  NOTHING_TO_CHANGE,
  payloadBytes,
  type RequestRow,
  SESSION_ROWS,
  SUB_ROWS,
} from '../vectors/rust-client-transcript.ts';

const FRANK = { name: 'frank', pass: 'secret' }; // the rows' own account and passphrase
const ADMIN = { name: 'admin', pass: 'admin-pass' };
const ACCOUNTS = [
  { ...FRANK, perms: ['send:7', 'subscribe:7'] }, // id 1
  { name: 'jane', pass: 'jane-pass', perms: ['send'] }, // id 2
  { name: 'bob', pass: 'bob-pass' }, // id 3
  { ...ADMIN, perms: ['*'] }, // id 4
  { name: 'locky', pass: 'locky-pass', lock: true }, // id 5
  { name: 'ninety-nine', pass: 'nn-pass' }, // id 6, made 99 in the state file
];

let sim: Simulator;
let dir: string;
const clients = new WireClients();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-transcript-sim-'));
  const stateFile = join(dir, 'accounts.json');
  await (await startSimulator({ accounts: ACCOUNTS, stateFile })).close();
  const state = JSON.parse(await readFile(stateFile, 'utf8'));
  for (const account of state.accounts) if (account.name === 'ninety-nine') account.id = 99;
  await writeFile(stateFile, JSON.stringify(state));
  sim = await startSimulator({ stateFile });
});
after(async () => {
  clients.destroyAll();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Writes a row's bytes unchanged (but for `<token>`) and returns the `Ok` reply's params. */
async function writeRow(
  c: WireClient,
  row: RequestRow,
  token = '',
): Promise<Record<string, string>> {
  c.socket.write(row.request.replace('<token>', token));
  const reply = await within(c.reader.readTelegram(), 5000, `the reply to "${row.operation}"`);
  assert.equal(reply.topic, 'Ok', `"${row.operation}" was refused: ${reply}`);
  return reply.params.toObject();
}

const whoami = async (c: WireClient) => (await expectOk(c, 'WhoAmI')).Name;

describe('session rows, on every interface', () => {
  const interfaces = () => [
    sim.sender.msgif,
    sim.sender.mgmtif,
    sim.receiver.subif,
    sim.receiver.mgmtif,
  ];
  /** Per row: what to do first, and what must show after it. */
  const checks: Record<string, (c: WireClient, row: RequestRow) => Promise<void>> = {
    'who am I': async (c, row) => {
      assert.deepEqual(await writeRow(c, row), { Id: '0', Name: 'unauthenticated' });
    },
    'log in, asking for a token': async (c, row) => {
      assert.match((await writeRow(c, row)).Tkn ?? '', /^[0-9a-f]{32}$/);
      assert.equal(await whoami(c), 'frank');
    },
    'log in, no token asked': async (c, row) => {
      assert.deepEqual(await writeRow(c, row), {});
      assert.equal(await whoami(c), 'frank');
    },
    'log in with a token': async (c, row) => {
      const other = await clients.open(sim.sender.mgmtif);
      const { Tkn } = await expectOk(other, 'Auth', {
        AccName: FRANK.name,
        Pass: FRANK.pass,
        ReqTkn: 'True',
      });
      await writeRow(c, row, Tkn);
      assert.equal(await whoami(c), 'frank');
    },
    'log out': async (c, row) => {
      await expectOk(c, 'Auth', { AccName: FRANK.name, Pass: FRANK.pass });
      await writeRow(c, row);
      assert.equal(await whoami(c), 'unauthenticated');
    },
    'node info': async (c, row) => {
      const info = await writeRow(c, row);
      assert.match(info['ddmw.node'] ?? '', /^(sender|receiver)$/);
      for (const key of ['ddmw.version', 'os.name', 'ddmw.ddlink.protocol']) assert.ok(info[key]);
    },
  };
  for (const row of SESSION_ROWS) {
    it(row.operation, async () => {
      const check = checks[row.operation];
      assert.ok(check, `no simulator check for "${row.operation}"`);
      for (const address of interfaces()) await check(await clients.open(address), row);
    });
  }
});

/** A subscriber to channel 7, subscribed with the Rust client's `Sub` bytes. */
async function rowSubscriber(): Promise<WireClient> {
  const c = await clients.open(sim.receiver.subif, FRANK);
  await writeRow(c, SUB_ROWS[0] as RequestRow);
  return c;
}

describe('subscribe and message rows', () => {
  it('subscribe to channel 7: messages of channel 7 arrive', async () => {
    const sub = await rowSubscriber();
    const sender = await clients.open(sim.sender.msgif, FRANK);
    const xferId = await sendMsg(sender, { ch: 7, cmd: 9, payload: Buffer.from('hello') });
    const got = await within(readMsg(sub), 5000, 'the message at the subscriber');
    assert.equal(got?.params.XferId, xferId);
    assert.equal(got?.payloadSha, sha(Buffer.from('hello')));
  });

  for (const row of MSG_ROWS) {
    it(row.operation, async () => {
      const sub = await rowSubscriber();
      const sender = await clients.open(sim.sender.msgif, FRANK);
      const { XferId } = await writeRow(sender, row);
      assert.ok(XferId, 'Ok carries XferId');
      const meta = metaBytes(row);
      const payload = payloadBytes(row);
      for (const part of [meta, payload]) {
        if (part.length === 0) continue;
        sender.socket.write(part);
        const reply = await within(sender.reader.readTelegram(), 10_000, 'the Ok for a part');
        assert.equal(reply.topic, 'Ok', `part refused: ${reply}`);
      }
      const got = await within(readMsg(sub), 20_000, 'the message at the subscriber');
      assert.deepEqual(got?.params, {
        _Ch: '7',
        XferId,
        Cmd: String(row.cmd),
        MetaLen: String(meta.length),
        Len: String(payload.length),
      });
      assert.equal(got?.metaSha, sha(meta));
      assert.equal(got?.payloadSha, sha(payload));
    });
  }
});

describe('account rows, in table order', () => {
  let admin: WireClient;
  before(async () => {
    admin = await clients.open(sim.sender.mgmtif, ADMIN);
    assert.equal((await expectOk(admin, 'RdAcc', { Id: '99' })).Name, 'ninety-nine');
  });
  const read = (by: Record<string, string>) => expectOk(admin, 'RdAcc', by);
  const perms = (p: Record<string, string>) => new Set((p.Perms ?? '').split(',').filter(Boolean));
  const names = (p: Record<string, string>) =>
    Array.from({ length: Number(p['#']) }, (_, i) => p[`${i}.Name`]).sort();

  /** Per row: what the reply holds or what a later RdAcc shows. */
  const checks: Record<string, (reply: Record<string, string>) => Promise<void>> = {
    'list accounts': async (reply) => {
      assert.deepEqual(names(reply), ['admin', 'bob', 'frank', 'jane', 'ninety-nine']);
    },
    'list accounts, locked ones too': async (reply) => {
      assert.deepEqual(names(reply), ['admin', 'bob', 'frank', 'jane', 'locky', 'ninety-nine']);
    },
    'read own account': async (reply) => {
      assert.equal(reply.Name, 'admin');
    },
    'read by name': async (reply) => {
      assert.equal(reply.Id, '2');
    },
    'read by id': async (reply) => {
      assert.equal(reply.Name, 'bob');
    },
    'change user name, lock, grant two permissions': async () => {
      const jane = await read({ Name: 'jane' });
      assert.equal(jane.Lock, 'True');
      assert.equal(jane.UserName, 'Jane Q. Public');
      assert.deepEqual(perms(jane), new Set(['send', 'subscribe']));
    },
    'revoke one': async () => {
      assert.deepEqual(perms(await read({ Id: '2' })), new Set(['subscribe']));
    },
    'revoke and grant': async () => {
      assert.deepEqual(perms(await read({ Id: '2' })), new Set(['accounts.read']));
    },
    'replace the permissions and unlock': async () => {
      const jane = await read({ Id: '2' });
      assert.deepEqual(perms(jane), new Set(['x', 'y']));
      assert.equal(jane.Lock, 'False');
    },
    rename: async () => {
      assert.equal((await read({ Id: '2' })).Name, 'janet');
      await expectFail(admin, 'RdAcc', { Name: 'jane' });
    },
    'remove by name': async () => {
      await expectFail(admin, 'RdAcc', { Name: 'bob' });
    },
    'remove by id': async () => {
      await expectFail(admin, 'RdAcc', { Id: '99' });
    },
  };
  it('change nothing: refused', async () => {
    admin.socket.write(NOTHING_TO_CHANGE.request);
    const reply = await within(
      admin.reader.readTelegram(),
      5000,
      'the reply to a WrAcc without changes',
    );
    assert.equal(reply.topic, 'Fail');
  });
  for (const row of ACCOUNT_ROWS) {
    it(row.operation, async () => {
      const check = checks[row.operation];
      assert.ok(check, `no simulator check for "${row.operation}"`);
      await check(await writeRow(admin, row));
    });
  }
});
