/**
 * `Telegram`: a topic line plus parameters, the request/reply header of DDMW.
 */
import { inspect } from 'node:util';
import { Params, type ParamsInit } from './params.ts';
import { validateTopic } from './validate.ts';

/** Set only while the decoder builds a telegram whose topic it has validated. */
let trusted = false;

/** A blather telegram: a validated topic and its {@link Params}. */
export class Telegram {
  /** The topic (first line), e.g. `Msg`, `Ok`, `Fail`. */
  readonly topic: string;
  /** The parameters. Mutable: add keys with `tg.params.set(...)`. */
  readonly params: Params;

  /**
   * @param topic a valid topic: a letter, then letters, digits, `_` or `-` (`BLATHER` error otherwise)
   * @param params initial parameters (a `Params` is used as is, not copied)
   */
  constructor(topic: string, params?: ParamsInit) {
    if (!trusted) validateTopic(topic);
    this.topic = topic;
    this.params = params instanceof Params ? params : new Params(params);
  }

  /**
   * Builds a telegram from a topic the decoder has already validated.
   * @internal Used by the decoder only.
   */
  static fromDecoded(topic: string, params: Params): Telegram {
    trusted = true; // nothing below can throw with a Params instance
    const tg = new Telegram(topic, params);
    trusted = false;
    return tg;
  }

  /** Encoded size in bytes (blather `calc_buf_size`). */
  encodedSize(): number {
    return Buffer.byteLength(this.topic) + 1 + this.params.encodedSize();
  }

  /** Debug display form `topic:{k=v}` (secrets redacted). Never sent on the wire. */
  toString(): string {
    return `${this.topic}:${this.params.toString()}`;
  }

  /** Display form for `util.inspect` and `console.log`: `Telegram topic:{k=v}`, secrets redacted. */
  [inspect.custom](): string {
    return `Telegram ${this.toString()}`;
  }
}
