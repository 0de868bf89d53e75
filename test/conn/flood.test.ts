/**
 * A server that floods its reply (issue #11): 16 million short lines in one
 * telegram, or lines that add up to far more than 1 MiB. The client, alone
 * in a child process so that its memory can be measured, must reject with
 * `BLATHER` and close the connection once a limit is passed, after reading
 * little of the flood, its memory growing by less than 100 MiB.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import { TestChild } from '../helpers/child.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { flood } from '../helpers/oversize.ts';

const MiB = 1024 * 1024;
const LINES = 16 * 1024 * 1024;

const { fake } = closedAfterFile();

/** What the child printed. */
interface ChildReport {
  code: string;
  message: string;
  closed: boolean;
  ms: number;
  rssBefore: number;
  peakRss: number;
}

/**
 * Serves one connection: reads its request, then replies `Ok` followed by
 * `LINES` lines made by `line`. Runs the client child against it and
 * returns its report and the number of lines the server got to write.
 */
async function floodClient(
  line: (i: number) => string,
): Promise<{ report: ChildReport; written: number }> {
  let floodEnded: (lines: number) => void = () => {};
  const written = new Promise<number>((resolve) => {
    floodEnded = resolve;
  });
  const server = await fake(async ({ socket, reader }) => {
    await reader.readTelegram();
    floodEnded(await flood(socket, 'Ok\n', LINES, line));
  });
  const child = new TestChild(
    'flooded client',
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'flood-child.ts'), server.addr],
    process.env,
  );
  try {
    const [json] = await child.waitFor('stdout', /^\{.*\}$/m, 'the report of the request', 60_000);
    const exit = await child.exited(30_000);
    assert.deepEqual(exit, { code: 0, signal: null }, child.stderr);
    const report = JSON.parse(json) as ChildReport;
    return { report, written: await within(written, 30_000, 'the end of the flood') };
  } finally {
    child.kill();
  }
}

describe('a reply that never ends', () => {
  it('16 M short lines: BLATHER naming maxParams after 10,000 of them, memory flat', async (t) => {
    const { report, written } = await floodClient((i) => `k${i} v\n`);
    assert.equal(report.code, 'BLATHER', report.message);
    assert.match(report.message, /raise maxParams/);
    assert.equal(report.closed, true, 'the connection is closed');
    const growth = report.peakRss - report.rssBefore;
    assert.ok(growth < 100 * MiB, `memory grew by ${(growth / MiB).toFixed(1)} MiB`);
    assert.ok(
      written < LINES / 4,
      `the server wrote ${written} of ${LINES} lines before the close`,
    );
    t.diagnostic(
      `16 M lines: rejected after ${report.ms.toFixed(0)} ms; RSS ${(report.rssBefore / MiB).toFixed(1)} MiB before, peak ${(report.peakRss / MiB).toFixed(1)} MiB; ${written} lines written`,
    );
  });
  it('lines of about 1000 bytes: BLATHER naming maxTelegramBytes after 1 MiB', async () => {
    const { report, written } = await floodClient((i) => `k${i} ${'x'.repeat(990)}\n`);
    assert.equal(report.code, 'BLATHER', report.message);
    assert.match(report.message, /raise maxTelegramBytes/);
    assert.equal(report.closed, true, 'the connection is closed');
    const growth = report.peakRss - report.rssBefore;
    assert.ok(growth < 100 * MiB, `memory grew by ${(growth / MiB).toFixed(1)} MiB`);
    assert.ok(
      written < LINES / 4,
      `the server wrote ${written} of ${LINES} lines before the close`,
    );
  });
});

describe('option values', () => {
  it('an invalid limit fails the connect with BAD_INPUT and leaves no socket open', async () => {
    const server = await fake(() => {});
    for (const options of [{ maxParams: 0 }, { maxTelegramBytes: -1 }, { maxParams: 2.5 }]) {
      await assert.rejects(
        within(connect(server.addr, options), 5000, 'the connect'),
        (e: unknown) => e instanceof DdmwError && e.code === 'BAD_INPUT',
        JSON.stringify(options),
      );
    }
    await within(server.allClosed(), 5000, 'the close of every refused connection');
  });
});
