/**
 * The one-telegram request path (`whoami`, `sendrecv`, and the calls built
 * on them): it reads its reply in the reader's callback and ends the
 * exchange there, beside `exclusive`. What it must keep: nothing is sent
 * for a request that cannot be encoded, a reply value that does not parse
 * leaves the connection in step, and requests share the turns of other
 * exchanges in call order. Against a scripted fake server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Params, Telegram } from '../../src/blather/index.ts';
import { sendrecv, whoami } from '../../src/conn/index.ts';
import { answerEach } from '../helpers/answer-each.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';

const files = closedAfterFile();

/** A fake server answering each request with `answer`, and a connection to it. */
async function connected(answer: (request: Telegram, n: number) => Telegram) {
  let n = 0;
  const server = answerEach((request) => answer(request, n++));
  const fake = await files.fake(server.script);
  return { server, conn: await files.open(fake.addr) };
}

describe('the request path', () => {
  it('a request that cannot be encoded rejects with BLATHER, sends nothing, and the connection goes on', async () => {
    const { server, conn } = await connected(() => new Telegram('Ok', { Id: 1, Name: 'app' }));
    // A value ending in CR can be held (a decoded one may) but not sent intact.
    const note = Params.fromDecoded(new Map([['Note', 'ends in CR\r']]));
    const unsendable = Telegram.fromDecoded('Ping', note);
    await rejectsCode(sendrecv(conn, unsendable), 'BLATHER');
    assert.deepEqual(await within(whoami(conn), 5000, 'the whoami after it'), {
      id: 1,
      name: 'app',
    });
    assert.deepEqual(
      server.received.map((tg) => tg.topic),
      ['WhoAmI'],
      'only the whoami reached the server',
    );
  });

  it('a reply value that does not parse rejects that request only; the next one is answered', async () => {
    const { conn } = await connected((_request, n) =>
      n === 0
        ? new Telegram('Ok', { Id: 'seven', Name: 'app' })
        : new Telegram('Ok', { Id: 7, Name: 'app' }),
    );
    await rejectsCode(whoami(conn), 'BLATHER');
    assert.equal(conn.isClosed, false, 'the reply was read whole: the connection is in step');
    assert.deepEqual(await within(whoami(conn), 5000, 'the second whoami'), {
      id: 7,
      name: 'app',
    });
  });

  it('requests and exchanges take their turns in call order, each with its own reply', async () => {
    const { conn } = await connected(
      (request, n) => new Telegram('Ok', { N: n, Topic: request.topic, Id: n, Name: `app${n}` }),
    );
    const calls = [
      sendrecv(conn, new Telegram('First')).then((p) => `${p.get('Topic')}:${p.get('N')}`),
      conn.exclusive(async (io) => {
        io.writeRequest('Middle\n\n');
        const tg = await io.reader.readTelegram();
        return `${tg.params.get('Topic')}:${tg.params.get('N')}`;
      }),
      whoami(conn).then((w) => `WhoAmI:${w.id}`),
      sendrecv(conn, new Telegram('Last')).then((p) => `${p.get('Topic')}:${p.get('N')}`),
    ];
    assert.deepEqual(await within(Promise.all(calls), 5000, 'the four replies'), [
      'First:0',
      'Middle:1',
      'WhoAmI:2',
      'Last:3',
    ]);
  });
});
