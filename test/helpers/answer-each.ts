/**
 * A fake-server script that answers every request with what `answer` gives
 * for it, and records the requests: for checking what a client sends and
 * how it takes a scripted reply.
 */
import { encodeTelegram, type Telegram } from '../../src/blather/index.ts';
import type { FakeConn } from './fake-server.ts';

/** The script (for `startFakeServer` or `closedAfterFile().fake`) and the requests it got. */
export interface AnswerEach {
  script: (conn: FakeConn) => Promise<void>;
  /** Every request received, on every connection, in order. */
  readonly received: Telegram[];
}

/** Answers each request with `answer(request)`, as long as the client sends. */
export function answerEach(answer: (request: Telegram) => Telegram): AnswerEach {
  const received: Telegram[] = [];
  return {
    received,
    async script({ socket, reader }) {
      try {
        for (;;) {
          const tg = await reader.nextTelegram();
          if (!tg) break;
          received.push(tg);
          socket.write(encodeTelegram(answer(tg)));
        }
      } catch {
        // the client went away mid-request
      }
      socket.destroy();
    },
  };
}
