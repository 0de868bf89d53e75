/**
 * Child of hash-thread.test.ts, in one of two modes (argv[2]):
 * - `first`: hashes one stream as a process's first (in place, while the
 *   hashing thread starts), prints `ok` and the digest; the thread, still
 *   loading or idle, must then let the process exit.
 * - `thread`: once the thread is ready, hashes a few MiB there and asks
 *   for the digest with nothing else alive: the digest must come, and
 *   the idle thread must then let the process exit.
 */
import { hashThreadReady, streamHasher } from '../../src/strm/hash-thread.ts';

const piece = Buffer.alloc(1024 * 1024, 0x61);
if (process.argv[2] === 'thread' && !(await hashThreadReady())) {
  throw new Error('the hashing thread did not start');
}
const hasher = streamHasher();
for (let i = 0; i < 4; i++) {
  const wait = hasher.update(piece);
  // Before the thread said it is ready, a stream is hashed in place: it never waits.
  if (process.argv[2] === 'first' && wait)
    throw new Error('the first stream went to a loading thread');
  await wait;
}
hasher.digest().then((hex) => console.log(`ok ${hex}`));
