/**
 * The `ddmw sim --sim-config` file: a TOML document of simulator options in
 * kebab-case (see docs/sim-config.md). Reading it warns about unknown keys;
 * errors about its values name the file and the key as the file spells it.
 */
import { access, readFile } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import { DdmwError } from '../err.ts';
import type { SimAccount, SimulatorOptions } from '../sim/index.ts';
import { checkKeys, kebab } from './sim-config-keys.ts';

/** The account a simulator gets when its config names none; its passphrase is well known. */
export const DEMO_ACCOUNT: Readonly<SimAccount> = { name: 'demo', pass: 'demo', perms: ['*'] };

/** What a simulator config file gives `ddmw sim`. */
export interface SimConfig {
  /** The options for `startSimulator`. */
  options: SimulatorOptions;
  /** One warning per unknown key, naming the file, the key and the closest known key. */
  warnings: string[];
  /** True when clients log in with {@link DEMO_ACCOUNT}. */
  demo: boolean;
  /** Who can log in, for the banner. */
  accounts: string;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Parses the file's text; syntax errors name the file, line and column (never the text). */
function parseToml(text: string, path: string): Record<string, unknown> {
  try {
    return parse(text, { integersAsBigInt: false });
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const reason = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
    throw new DdmwError(
      'CONFIG',
      `Invalid TOML in ${path} at line ${err.line}, column ${err.column}: ${reason}`,
    );
  }
}

/** Reads the simulator config at `path` (none: the defaults and the demo account). */
export async function readSimConfig(path: string | undefined): Promise<SimConfig> {
  let options: SimulatorOptions = {};
  const warnings: string[] = [];
  if (path !== undefined) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new DdmwError(
        'CONFIG',
        `Cannot read the simulator config ${path}: ${(err as Error).message}`,
      );
    }
    const checked = checkKeys(parseToml(text.replace(/^\uFEFF/, ''), path));
    options = checked.options;
    for (const { key, closest } of checked.unknown) {
      warnings.push(`${path}: unknown key ${key} (ignored); did you mean ${closest}?`);
    }
  }
  const { stateFile } = options;
  if (stateFile !== undefined && (await exists(stateFile))) {
    return { options, warnings, demo: false, accounts: `from the state file ${stateFile}` };
  }
  if (options.accounts !== undefined) {
    const names = options.accounts.map((a) => a.name).join(', ');
    return { options, warnings, demo: false, accounts: names || 'none' };
  }
  return {
    options: { ...options, accounts: [{ ...DEMO_ACCOUNT }] },
    warnings,
    demo: true,
    accounts: `${DEMO_ACCOUNT.name} (pass "${DEMO_ACCOUNT.pass}", all permissions)`,
  };
}

/** `Simulator option link.heartbeatMs ...`: the option names, then the rest. */
const OPTION_MESSAGE = /^Simulator options? ([\w.[\]]+(?: and [\w.[\]]+)*) (.*)$/s;

/**
 * An error of `startSimulator` about the options of the file at `path`
 * (`BAD_INPUT`, `BAD_PARAMS`) as a `CONFIG` error naming the file and the
 * keys as the file spells them; other errors as they are.
 */
export function inSimConfig(path: string, err: unknown): unknown {
  if (!(err instanceof DdmwError) || (err.code !== 'BAD_INPUT' && err.code !== 'BAD_PARAMS')) {
    return err;
  }
  const m = OPTION_MESSAGE.exec(err.message);
  const text = m ? `${kebab(m[1] ?? '')} ${m[2]}` : err.message;
  return new DdmwError('CONFIG', `Invalid simulator config ${path}: ${text}`, { cause: err });
}
