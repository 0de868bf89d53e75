/** Ledgers (apps/ledger) and their reconciliation. */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import {
  isClean,
  Ledger,
  type LedgerEntry,
  readLedger,
  reconcile,
  Sha256Tap,
  sha256Of,
} from '../../src/apps/ledger/index.ts';
import { rejectsCode } from '../helpers/errors.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-ledger-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const fresh = () => join(dir, `ledger-${++n}.jsonl`);
const entry = (xferId: string, payload: string, name?: string): Omit<LedgerEntry, 'time'> => ({
  xferId,
  ch: '7',
  size: Buffer.byteLength(payload),
  sha256: sha256Of(payload),
  ...(name === undefined ? {} : { name }),
});

async function write(path: string, entries: Omit<LedgerEntry, 'time'>[]): Promise<void> {
  const ledger = await Ledger.open(path);
  await Promise.all(entries.map((e) => ledger.append(e)));
  await ledger.close();
}

async function readAll(path: string, warnings: string[] = []): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for await (const { entry } of readLedger(path, (w) => warnings.push(w))) out.push(entry);
  return out;
}

describe('Ledger', () => {
  it('appends one JSON line per entry, in call order, with a time', async () => {
    const path = fresh();
    const ids = Array.from({ length: 200 }, (_, i) => `x${i}`);
    await write(
      path,
      ids.map((id) => entry(id, id, `dir/${id}`)),
    );
    const lines = (await readFile(path, 'utf8')).split('\n');
    assert.equal(lines.pop(), '');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).xferId),
      ids,
    );
    const first = JSON.parse(lines[0] as string) as LedgerEntry;
    assert.equal(first.name, 'dir/x0');
    assert.ok(Date.now() - Date.parse(first.time) < 60_000, first.time);
  });

  it('appends to an existing ledger and reads back what it wrote', async () => {
    const path = fresh();
    await write(path, [entry('a', 'one')]);
    await write(path, [entry('b', 'two')]);
    assert.deepEqual(
      (await readAll(path)).map((e) => [e.xferId, e.size, e.sha256]),
      [
        ['a', 3, sha256Of('one')],
        ['b', 3, sha256Of('two')],
      ],
    );
  });

  it('refuses an invalid entry with BAD_PARAMS, and writes nothing for it', async () => {
    const path = fresh();
    const ledger = await Ledger.open(path);
    await rejectsCode(ledger.append({ ...entry('a', 'x'), sha256: 'abc' }), 'BAD_PARAMS');
    await rejectsCode(ledger.append({ ...entry('', 'x') }), 'BAD_PARAMS');
    await rejectsCode(ledger.append({ ...entry('a', 'x'), size: -1 }), 'BAD_PARAMS');
    await ledger.append(entry('ok', 'x'));
    await ledger.close();
    await rejectsCode(ledger.append(entry('late', 'x')), 'BAD_STATE');
    assert.deepEqual(
      (await readAll(path)).map((e) => e.xferId),
      ['ok'],
    );
  });

  it('keeps a name with a line break on one line', async () => {
    const path = fresh();
    await write(path, [entry('a', 'x', 'evil\n{"xferId":"forged"}')]);
    const read = await readAll(path);
    assert.deepEqual(
      read.map((e) => e.xferId),
      ['a'],
    );
    assert.equal(read[0]?.name, 'evil\n{"xferId":"forged"}');
  });

  it('cannot open a ledger in a missing folder: IO naming the path', async () => {
    const path = join(dir, 'missing', 'l.jsonl');
    const err = await rejectsCode(Ledger.open(path), 'IO');
    assert.match(err.message, /missing/);
  });
});

describe('readLedger', () => {
  it('skips a torn last line with a warning, and blank lines silently', async () => {
    const path = fresh();
    await write(path, [entry('a', 'x')]);
    await appendFile(path, '\n{"xferId":"b","ch":"7","si');
    const warnings: string[] = [];
    assert.deepEqual(
      (await readAll(path, warnings)).map((e) => e.xferId),
      ['a'],
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /:3: incomplete last line/);
  });

  it('cuts a torn last line off before appending, so the ledger stays readable', async () => {
    const path = fresh();
    await write(path, [entry('a', 'x')]);
    await appendFile(path, '{"xferId":"b","ch":"7","si');
    await write(path, [entry('c', 'y')]);
    const warnings: string[] = [];
    assert.deepEqual(
      (await readAll(path, warnings)).map((e) => e.xferId),
      ['a', 'c'],
    );
    assert.deepEqual(warnings, []);
    await writeFile(path, '{"xferId":"only a torn line');
    await write(path, [entry('d', 'z')]);
    assert.deepEqual(
      (await readAll(path)).map((e) => e.xferId),
      ['d'],
    );
  });

  it('refuses to open a file that does not end in a JSON line, and leaves it as it is', async () => {
    const path = fresh();
    await writeFile(path, 'notes.txt: not a ledger');
    const err = await rejectsCode(Ledger.open(path), 'BAD_INPUT');
    assert.match(err.message, /is this the right file\?/);
    assert.equal(await readFile(path, 'utf8'), 'notes.txt: not a ledger');
  });

  it('refuses a malformed line with BAD_INPUT naming file and line', async () => {
    const path = fresh();
    await write(path, [entry('a', 'x')]);
    await appendFile(path, '{"xferId":"b"}\n');
    const err = await rejectsCode(readAll(path), 'BAD_INPUT');
    assert.match(err.message, /:2: not a ledger entry: ch/);
    await writeFile(path, 'not json\n');
    assert.match((await rejectsCode(readAll(path), 'BAD_INPUT')).message, /:1: not a JSON line/);
  });

  it('refuses a line over 64 KiB without holding more of it (a file that is no ledger)', async () => {
    const path = fresh();
    await writeFile(path, Buffer.alloc(8 * 1024 * 1024, 0x61));
    const err = await rejectsCode(readAll(path), 'BAD_INPUT');
    assert.match(err.message, /:1: line longer than 65536 bytes/);
  });

  it('reads a missing ledger as IO', async () => {
    await rejectsCode(readAll(join(dir, 'nope.jsonl')), 'IO');
  });
});

describe('reconcile', () => {
  it('finds missing, unexpected, mismatched and duplicated transfers', async () => {
    const sender = fresh();
    const receiver = fresh();
    await write(sender, [
      entry('a', 'alpha', 'a.txt'),
      entry('b', 'beta', 'b.txt'),
      entry('c', 'gamma', 'c.txt'),
      entry('d', 'delta', 'd.txt'),
    ]);
    await write(receiver, [
      entry('a', 'alpha'),
      entry('c', 'gamma!'),
      entry('z', 'zeta'),
      entry('a', 'alpha'),
      entry('d', 'delta'),
    ]);
    const r = await reconcile(sender, receiver);
    assert.equal(r.sent, 4);
    assert.equal(r.received, 5);
    assert.equal(r.matched, 2);
    assert.deepEqual(
      r.missing.map((e) => e.name),
      ['b.txt'],
    );
    assert.deepEqual(
      r.unexpected.map((e) => e.xferId),
      ['z'],
    );
    assert.deepEqual(
      r.mismatched.map((m) => [m.sent.xferId, m.sent.size, m.received.size]),
      [['c', 5, 6]],
    );
    assert.deepEqual(
      r.duplicates.map((e) => e.xferId),
      ['a'],
    );
    assert.equal(isClean(r), false);
  });

  it('is clean when every transfer arrived once, whatever the order', async () => {
    const sender = fresh();
    const receiver = fresh();
    await write(sender, [entry('a', '1'), entry('b', '2'), entry('c', '')]);
    await write(receiver, [entry('c', ''), entry('a', '1'), entry('b', '2')]);
    const r = await reconcile(sender, receiver);
    assert.equal(r.matched, 3);
    assert.equal(isClean(r), true);
  });

  it('warns about an id the sender ledger holds twice', async () => {
    const sender = fresh();
    const receiver = fresh();
    await write(sender, [entry('a', '1'), entry('a', '1')]);
    await write(receiver, [entry('a', '1')]);
    const r = await reconcile(sender, receiver);
    assert.equal(isClean(r), true);
    assert.match(r.warnings.join(), /:2: a again/);
  });
});

describe('Sha256Tap', () => {
  it('hashes and counts what flows through it, unchanged', async () => {
    const tap = new Sha256Tap();
    const chunks: Buffer[] = [];
    await rejectsCode(
      Promise.resolve().then(() => tap.digest()),
      'BAD_STATE',
    );
    await pipeline(Readable.from([Buffer.from('ab'), Buffer.from('c')]), tap, async (source) => {
      for await (const c of source) chunks.push(c as Buffer);
    });
    assert.equal(Buffer.concat(chunks).toString(), 'abc');
    assert.equal(tap.bytes, 3);
    assert.equal(tap.digest(), sha256Of('abc'));
  });
});
