/** `ddmw send --ledger`, `ddmw recv --ledger` and `ddmw reconcile`, against a simulator. */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LedgerEntry } from '../../src/apps/ledger/index.ts';
import { readLedger } from '../../src/apps/ledger/index.ts';
import { CliSim } from '../helpers/cli-sim.ts';
import { sha } from '../helpers/sha.ts';

let cli: CliSim;
before(async () => {
  cli = await CliSim.start();
});
after(async () => {
  await cli.close();
});

async function entries(path: string): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for await (const { entry } of readLedger(path)) out.push(entry);
  return out;
}

describe('ddmw --ledger and reconcile', () => {
  it('records each transfer on both sides; reconcile finds the one never received', async () => {
    const sent = join(cli.dir, 'sent.jsonl');
    const received = join(cli.dir, 'received.jsonl');
    const out = join(cli.dir, 'in');
    const file = join(cli.dir, 'data.bin');
    const data = Buffer.alloc(300_000, 3);
    await writeFile(file, data);
    const recv = await cli.subscribed('recv', '--out', out, '--count', '2', '--ledger', received);
    for (const args of [[file], ['--text', 'héllo']]) {
      const r = await cli.run('send', ...args, '--ledger', sent);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(await recv.exitCode(), 0, recv.stderr);
    // Sent while nobody listens: lost for this receiver.
    const lost = await cli.run('--json', 'send', '--text', 'nobody hears this', '--ledger', sent);
    assert.equal(lost.code, 0, lost.stderr);

    const s = await entries(sent);
    const r = await entries(received);
    assert.deepEqual(
      s.map((e) => [e.size, e.sha256, e.name]),
      [
        [data.length, sha(data), file],
        [6, sha(Buffer.from('héllo')), '--text'],
        [17, sha(Buffer.from('nobody hears this')), '--text'],
      ],
    );
    assert.deepEqual(
      r.map((e) => [e.xferId, e.size, e.sha256]),
      s.slice(0, 2).map((e) => [e.xferId, e.size, e.sha256]),
    );
    assert.deepEqual(await readFile(r[0]?.name as string), data);

    const human = await cli.run('reconcile', sent, received);
    assert.equal(human.code, 1, human.stderr);
    assert.match(human.stdout, /^sent 3, received 2: 2 matched, 1 missing, 0 unexpected/);
    assert.match(human.stdout, new RegExp(`missing +${JSON.parse(lost.stdout).xferId}  17 bytes`));
    const json = await cli.run('--json', 'reconcile', sent, received);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout);
    assert.equal(report.clean, false);
    assert.deepEqual(
      report.missing.map((e: LedgerEntry) => e.xferId),
      [JSON.parse(lost.stdout).xferId],
    );

    const clean = await cli.run('reconcile', sent, sent);
    assert.equal(clean.code, 0, clean.stdout);
  });

  it('send --ledger of an empty file records the empty payload', async () => {
    const path = join(cli.dir, 'empty-sent.jsonl');
    const empty = join(cli.dir, 'empty.bin');
    await writeFile(empty, '');
    const r = await cli.run('send', empty, '--ledger', path);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await entries(path)).map((e) => [e.size, e.sha256]),
      [[0, sha(Buffer.alloc(0))]],
    );
  });

  it('reconcile: a ledger that cannot be read is a usage error naming it', async () => {
    const missing = await cli.run('reconcile', join(cli.dir, 'nope'), join(cli.dir, 'nope2'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Cannot read .*nope/);
    const bad = join(cli.dir, 'bad.jsonl');
    await writeFile(bad, '{"xferId":1}\n');
    const malformed = await cli.run('reconcile', bad, bad);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /bad\.jsonl:1: not a ledger entry: xferId/);
  });

  it('send --ledger in a folder that does not exist fails before sending', async () => {
    const before = cli.sim.stats().transfersSent;
    const r = await cli.run('send', '--text', 'x', '--ledger', join(cli.dir, 'no', 'l.jsonl'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Cannot open .*l\.jsonl for appending/);
    assert.equal(cli.sim.stats().transfersSent, before);
  });
});
