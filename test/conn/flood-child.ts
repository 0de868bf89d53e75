/**
 * Child of flood.test.ts: a client alone in its process, so that its memory
 * can be measured. Connects to argv[2], sends one request (`WhoAmI`), and
 * prints one JSON line: how the request ended, how long it took, whether
 * the connection was closed, and the process's resident memory before the
 * request and at its peak (`maxRSS` covers the whole run, so the growth it
 * gives is an upper bound of what the reply cost). Then it waits for the
 * socket to close, and exits.
 */
import { connect, whoami } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';

const conn = await connect(process.argv[2] as string);
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
const outcome = await whoami(conn).then(
  () => ({ code: 'OK', message: '' }),
  (err: unknown) =>
    err instanceof DdmwError
      ? { code: err.code, message: err.message }
      : { code: 'NOT_A_DDMW_ERROR', message: String(err) },
);
const ms = performance.now() - started;
const peakRss = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ ...outcome, closed: conn.isClosed, ms, rssBefore, peakRss }));
await conn.closed;
