/**
 * Codec figures: decode and encode rates of `Msg`-like telegrams (topic plus
 * five parameters), each beside a baseline measured in the same run.
 */
import { encodeTelegram, FrameReader, Telegram } from '../src/blather/index.ts';
import { bestOfPaired, bestRate, type Figure, figure, type Measurement } from './figures.ts';

const COUNT = 100_000;
const CHUNK = 64 * 1024;

function msgTelegram(i: number): Telegram {
  return new Telegram('Msg', {
    _Ch: 42,
    Cmd: 7,
    MetaLen: 120,
    Len: 1_048_576 + i,
    XferId: `a1b2c3d4e5f6${(i % 10000).toString().padStart(4, '0')}`,
  });
}

/** The stream as a socket would deliver it: 64 KiB chunks. */
function streamChunks(): Buffer[] {
  const all = Buffer.concat(
    Array.from({ length: COUNT }, (_, i) => encodeTelegram(msgTelegram(i))),
  );
  const chunks: Buffer[] = [];
  for (let i = 0; i < all.length; i += CHUNK) chunks.push(all.subarray(i, i + CHUNK));
  return chunks;
}

async function* iterate(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield c;
}

/** Baseline: split the same chunks on LF with indexOf and count the empty lines. */
function indexOfSplit(chunks: Buffer[]): number {
  let telegrams = 0;
  let lineLength = 0;
  for (const c of chunks) {
    let p = 0;
    for (;;) {
      const lf = c.indexOf(10, p);
      if (lf < 0) {
        lineLength += c.length - p;
        break;
      }
      if (lineLength + lf - p === 0) telegrams++;
      lineLength = 0;
      p = lf + 1;
    }
  }
  return telegrams;
}

async function decodeAll(chunks: Buffer[], readField: boolean): Promise<number> {
  const reader = new FrameReader(iterate(chunks));
  let n = 0;
  let sum = 0n;
  for (;;) {
    const tg = reader.tryReadTelegram() ?? (await reader.nextTelegram());
    if (!tg) break;
    if (readField) sum += tg.params.getBigInt('Len');
    n++;
  }
  if (n !== COUNT || (readField && sum === 0n)) throw new Error(`decoded ${n} of ${COUNT}`);
  return n;
}

/**
 * Rounds of a figure and of its baseline, alternating (see `bestOfPaired`):
 * measured one after the other, a slow phase of a shared VM that hit only
 * the figure's rounds gave `codec.decode` 0.32-0.38 instead of 0.50-0.63.
 */
const ROUNDS = 8;
const ROUND_SECONDS = 0.2;

/** One round of `fn`: its rate over about {@link ROUND_SECONDS}. */
const round = (fn: () => Promise<number> | number) => () =>
  bestRate(fn, { rounds: 1, seconds: ROUND_SECONDS });

async function codecFigures(): Promise<Figure[]> {
  const chunks = streamChunks();
  const decoding = await bestOfPaired(
    ROUNDS,
    round(() => decodeAll(chunks, false)),
    round(() => indexOfSplit(chunks)),
  );
  const decodeFields = await bestRate(() => decodeAll(chunks, true));
  const base = { value: decoding.baseline, name: 'indexOf line split' };

  const telegrams = Array.from({ length: 1000 }, (_, i) => msgTelegram(i));
  const encoding = await bestOfPaired(
    ROUNDS,
    round(() => {
      for (const tg of telegrams) encodeTelegram(tg);
      return telegrams.length;
    }),
    round(() => {
      for (let i = 0; i < 1000; i++) {
        const id = `a1b2c3d4e5f6${i.toString().padStart(4, '0')}`;
        Buffer.from(`Msg\n_Ch 42\nCmd 7\nMetaLen 120\nLen ${1_048_576 + i}\nXferId ${id}\n\n`);
      }
      return 1000;
    }),
  );
  return [
    figure('codec.decode', 'telegrams/s', decoding.value, { ...base, target: 0.5 }),
    figure('codec.decode.fields', 'telegrams/s', decodeFields, base),
    figure('codec.encode', 'telegrams/s', encoding.value, {
      value: encoding.baseline,
      name: 'template string + Buffer.from',
    }),
  ];
}

export const codecMeasurement: Measurement = {
  figures: ['codec.decode', 'codec.decode.fields', 'codec.encode'],
  measure: codecFigures,
};
