/** Test helpers: feed bytes to a FrameReader in chosen chunkings. */

/** An async iterable that yields the given chunks, then ends. */
export async function* chunksOf(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

/** Splits `bytes` at the given offsets (sorted, within range). */
export function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let last = 0;
  for (const c of cuts) {
    parts.push(bytes.subarray(last, c));
    last = c;
  }
  parts.push(bytes.subarray(last));
  return parts;
}

/** Every chunking a vector is tested with: whole, one byte at a time, and each two-way split. */
export function chunkings(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [[bytes]];
  out.push([...bytes].map((b) => Buffer.from([b])));
  for (let i = 1; i < bytes.length; i++) out.push(splitAt(bytes, [i]));
  return out;
}
