/**
 * `Secret`: a passphrase or token that never shows itself. Re-exported
 * from the `auth` module.
 */
import { inspect } from 'node:util';
import { DdmwError } from './err.ts';

const REDACTED = '<redacted>';

/**
 * A passphrase or token held so that it never shows: `String(secret)`,
 * template literals and `JSON.stringify` give `<redacted>`, `util.inspect`
 * and `console.log` show `Secret <redacted>`. Read the value with
 * {@link Secret.reveal}.
 *
 * A copy of an object holding a Secret (`{ ...cfg.auth, name: 'other' }`)
 * holds the same Secret, so it is as hidden as the original and still
 * authenticates. `conf.load` gives the config file's passphrase and token
 * as Secrets; `auth.Auth` takes a Secret or a plain string.
 *
 * ```ts
 * const auth = { name: 'frank', pass: new auth.Secret(process.env.APP_PASS ?? '') };
 * console.log(auth); // { name: 'frank', pass: Secret <redacted> }
 * ```
 */
export class Secret {
  readonly #value: string;

  /** Holds `value`, which must be a string (`BAD_INPUT` otherwise). */
  constructor(value: string) {
    if (typeof value !== 'string') throw new DdmwError('BAD_INPUT', 'A secret must be a string');
    this.#value = value;
  }

  /** The secret itself. */
  reveal(): string {
    return this.#value;
  }

  /** `<redacted>`, never the secret (also what template literals use). */
  toString(): string {
    return REDACTED;
  }

  /** `<redacted>`, never the secret: what `JSON.stringify` writes. */
  toJSON(): string {
    return REDACTED;
  }

  /** Display form for `util.inspect` and `console.log`: `Secret <redacted>`. */
  [inspect.custom](): string {
    return `Secret ${REDACTED}`;
  }
}

/** A secret given as a string or a {@link Secret}, as a Secret. */
export function toSecret(value: string | Secret): Secret {
  return value instanceof Secret ? value : new Secret(value);
}

/** The value of a secret given as a string or a {@link Secret}. */
export function reveal(value: string | Secret): string {
  return value instanceof Secret ? value.reveal() : value;
}
