/**
 * Property tests: encode -> decode round trips under random chunking, and
 * random garbage only ever yields a DdmwError (never another exception, never a hang).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  encodeKVLines,
  encodeParams,
  encodeTelegram,
  FrameReader,
  KVLines,
  Params,
  Telegram,
  validateKey,
  validateValue,
} from '../../src/blather/index.ts';
import { DdmwError } from '../../src/err.ts';
import { chunksOf, splitAt } from '../helpers/chunks.ts';
import { runScript } from '../helpers/script.ts';

const letter = fc.constantFrom(...'abcXYZåÄ日本ж'.split(''));
const topicRest = fc.constantFrom(...'abcXYZ019_-é٣'.split(''));
const topic = fc
  .tuple(letter, fc.array(topicRest, { maxLength: 12 }))
  .map(([a, rest]) => a + rest.join(''));
const keyChar = fc.constantFrom(...'abzAZ09_.#:=!~[]{}ÅÖ'.split(''));
const key = fc.array(keyChar, { minLength: 1, maxLength: 10 }).map((cs) => cs.join(''));
// Any Unicode text without LF and not ending in CR (what a value can carry).
const value = fc
  .string({ unit: 'binary', maxLength: 30 })
  .map((s) => s.replace(/\n/g, ' ').replace(/\r+$/, ''));
const entries = fc.array(fc.tuple(key, value), { maxLength: 8 });
const kvKey = fc.string({ unit: 'binary', maxLength: 8 }).map((s) => s.replace(/[ \n\r]/g, '_'));

type Frame =
  | { kind: 'tg'; topic: string; entries: [string, string][] }
  | { kind: 'params'; entries: [string, string][] }
  | { kind: 'kv'; lines: [string, string][] }
  | { kind: 'bytes'; data: Uint8Array };

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ kind: fc.constant('tg' as const), topic, entries }),
  fc.record({ kind: fc.constant('params' as const), entries }),
  fc.record({
    kind: fc.constant('kv' as const),
    lines: fc.array(fc.tuple(kvKey, value), { maxLength: 6 }),
  }),
  fc.record({
    kind: fc.constant('bytes' as const),
    data: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
);

function encode(f: Frame): Buffer {
  switch (f.kind) {
    case 'tg':
      return encodeTelegram(new Telegram(f.topic, f.entries));
    case 'params':
      return encodeParams(new Params(f.entries));
    case 'kv':
      return encodeKVLines(new KVLines(f.lines));
    case 'bytes':
      return Buffer.from(f.data);
  }
}

/** Random cut points for a buffer of length n. */
function cutsFor(n: number): fc.Arbitrary<number[]> {
  return fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, n - 1) }), { maxLength: 12 })
    .map((cs) => cs.filter((c) => c < n).sort((a, b) => a - b));
}

describe('properties', () => {
  it('encode -> decode round trips under random chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(frame, { minLength: 1, maxLength: 8 }).chain((frames) => {
          const bytes = Buffer.concat(frames.map(encode));
          return fc.tuple(fc.constant(frames), fc.constant(bytes), cutsFor(bytes.length));
        }),
        async ([frames, bytes, cuts]) => {
          const r = new FrameReader(chunksOf(splitAt(bytes, cuts)));
          for (const f of frames) {
            switch (f.kind) {
              case 'tg': {
                const tg = await r.readTelegram();
                assert.equal(tg.topic, f.topic);
                assert.deepEqual(tg.params.toObject(), new Params(f.entries).toObject());
                break;
              }
              case 'params':
                assert.deepEqual(
                  (await r.readParams()).toObject(),
                  new Params(f.entries).toObject(),
                );
                break;
              case 'kv':
                assert.deepEqual((await r.readKVLines()).toArray(), f.lines);
                break;
              case 'bytes':
                assert.deepEqual(new Uint8Array(await r.readBytes(f.data.length)), f.data);
                break;
            }
          }
          assert.equal(await r.nextTelegram(), undefined);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random garbage only yields DdmwError, and never hangs', async () => {
    const ops = fc.array(fc.constantFrom('tg', 'next', 'params', 'kv', 'bytes', 'skip'), {
      minLength: 1,
      maxLength: 10,
    });
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // Mostly-valid text with random bytes: reaches deeper decoder states.
      fc
        .array(
          fc.constantFrom('Msg\n', 'k v\n', '\n', '\r\n', ' x\n', 'Ä', '\xff', 'a b c', '\r'),
          {
            maxLength: 30,
          },
        )
        .map((parts) => Buffer.from(parts.join(''), 'latin1')),
    );
    await fc.assert(
      fc.asyncProperty(
        garbage,
        ops,
        fc.integer({ min: 1, max: 9 }),
        async (bytes, script, size) => {
          const parts = [];
          for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
          const r = new FrameReader(chunksOf(parts), { maxLineLength: 64 });
          for (const op of script) {
            try {
              if (op === 'tg') await r.readTelegram();
              else if (op === 'next') await r.nextTelegram();
              else if (op === 'params') await r.readParams();
              else if (op === 'kv') await r.readKVLines();
              else if (op === 'bytes') await r.readBytes(3);
              else await r.skip(2);
            } catch (e) {
              assert.ok(e instanceof DdmwError, `unexpected ${String(e)}`);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('the fast path decodes exactly like the line-by-line reference path', async () => {
    // Whole input in one chunk lets the fast path run; one byte per chunk forces the reference path.
    const word = fc.constantFrom(
      'Msg',
      'Ok',
      'Hälsning',
      '1x',
      'k',
      'Len',
      '_Ch',
      '=',
      'é',
      '€',
      '',
    );
    const junk = fc.constantFrom(' ', '  ', '\t', '\r', '\u0001', '', '', '');
    const eol = fc.constantFrom('\n', '\r\n', '\r\r\n', '\n');
    const topicLine = fc.tuple(word, junk, eol).map((parts) => parts.join(''));
    const paramLine = fc
      .tuple(word, fc.constantFrom(' ', ' ', '', '\t'), word, junk, eol)
      .map((parts) => parts.join(''));
    const frame = fc
      .tuple(topicLine, fc.array(paramLine, { maxLength: 4 }), fc.constantFrom('\n', '\r\n'))
      .map(([t, ps, end]) => t + ps.join('') + end);
    const input = fc
      .array(frame, { maxLength: 4 })
      .map((frames) => Buffer.from(frames.join(''), 'utf8'));
    const withGarbage = fc.oneof(
      input,
      fc.tuple(input, fc.uint8Array({ maxLength: 4 })).map(([a, b]) => Buffer.concat([a, b])),
    );
    await fc.assert(
      fc.asyncProperty(withGarbage, fc.integer({ min: 1, max: 20 }), async (bytes, limit) => {
        const ops: ['next'][] = [['next'], ['next'], ['next'], ['next']];
        const opts = { maxLineLength: limit };
        const fast = await runScript([bytes], ops, opts);
        const reference = await runScript(
          [...bytes].map((b) => Buffer.from([b])),
          ops,
          opts,
        );
        assert.deepEqual(fast, reference);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('validation fast paths', () => {
  // The reference rules, as the wire-protocol spec states them (validate.ts tries cheaper forms first).
  const keyOk = (k: string) => /^[\p{Alphabetic}\p{N}!-/:-@[-`{-~]+$/u.test(k);
  const valueOk = (v: string) => !/\n|\r$|[\uD800-\uDFFF]/u.test(v);
  const accepts = (fn: () => void) => {
    try {
      fn();
      return true;
    } catch (e) {
      assert.ok(e instanceof DdmwError && e.code === 'BLATHER');
      return false;
    }
  };
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({
      unit: fc.constantFrom('a', ' ', '\r', '\n', '~', '\x7f', '\uD83D', '\uDE00', 'é'),
      maxLength: 40,
    }),
  );

  it('keys and values are accepted exactly when the reference rules accept them', () => {
    fc.assert(
      fc.property(text, (s) => {
        assert.equal(
          accepts(() => validateKey(s)),
          keyOk(s),
          `key ${JSON.stringify(s)}`,
        );
        assert.equal(
          accepts(() => validateValue('k', s)),
          valueOk(s),
          `value ${JSON.stringify(s)}`,
        );
      }),
      { numRuns: 2000 },
    );
  });
});
