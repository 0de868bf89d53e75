/**
 * The stream hashing thread (see hash-thread.ts): says it is ready once
 * loaded, keeps a sha-256 per stream id, hashes each batch it is sent and
 * hands the batch's memory back, and answers the digest at a stream's end.
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { FromHashThread, ToHashThread } from './hash-thread.ts';

const port = parentPort;
if (!port) throw new Error('hash-worker.ts runs as a worker thread');

const hashes = new Map<number, Hash>();

function hashOf(id: number): Hash {
  let hash = hashes.get(id);
  if (!hash) {
    hash = createHash('sha256');
    hashes.set(id, hash);
  }
  return hash;
}

port.on('message', (m: ToHashThread) => {
  switch (m.op) {
    case 'data':
      hashOf(m.id).update(new Uint8Array(m.batch, 0, m.length));
      port.postMessage({ op: 'free', id: m.id, batch: m.batch }, [m.batch]);
      break;
    case 'end':
      port.postMessage({ op: 'digest', id: m.id, hex: hashOf(m.id).digest('hex') });
      hashes.delete(m.id);
      break;
    case 'drop':
      hashes.delete(m.id);
      break;
  }
});

port.postMessage({ op: 'ready' } satisfies FromHashThread);
