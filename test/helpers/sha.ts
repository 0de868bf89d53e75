/** Digests for comparing bytes in assertions. */
import { createHash } from 'node:crypto';

/** sha-256 of some bytes, in hex. */
export function sha(bytes: Uint8Array = new Uint8Array(0)): string {
  return createHash('sha256').update(bytes).digest('hex');
}
