/**
 * A child process run by a test: its output collected, and every wait
 * bounded by a deadline whose failure says what did not happen. A child
 * still running at a deadline is killed, and that is a test failure, never
 * an exit code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { afterEach } from 'node:test';

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How to start a child, beyond its command and environment. */
export interface ChildOptions {
  /** Written to its standard input, which is then closed (without it, standard input is empty). */
  input?: string;
  /** Its working folder (default: this process's). */
  cwd?: string;
}

/** Where to look for output: one stream, or both as they came. */
type Output = 'stdout' | 'stderr' | 'output';

/** Default deadline of every wait. */
const DEFAULT_MS = 30_000;

/** A running child process. */
export class TestChild {
  stdout = '';
  stderr = '';
  /** Both streams, in the order their data came. */
  output = '';
  readonly #name: string;
  readonly #child: ChildProcess;
  readonly #changed = new EventEmitter();
  #exit: Exit | Error | undefined;

  /** Starts `command` with `args`; `name` names it in failures. */
  constructor(
    name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    { input, cwd }: ChildOptions = {},
  ) {
    this.#name = name;
    const stdin = input === undefined ? 'ignore' : 'pipe';
    this.#child = spawn(command, args, { env, cwd, stdio: [stdin, 'pipe', 'pipe'] });
    this.#child.stdin?.on('error', () => {}); // a child that exits without reading it all
    this.#child.stdin?.end(input);
    this.#child.stdout?.on('data', (d: Buffer) => this.#add('stdout', d));
    this.#child.stderr?.on('data', (d: Buffer) => this.#add('stderr', d));
    this.#child.on('error', (err) => this.#ended(err));
    this.#child.on('close', (code, signal) => this.#ended({ code, signal }));
  }

  #add(stream: 'stdout' | 'stderr', data: Buffer): void {
    const text = data.toString();
    this[stream] += text;
    this.output += text;
    this.#changed.emit('change');
  }

  #ended(exit: Exit | Error): void {
    this.#exit ??= exit;
    this.#changed.emit('change');
  }

  /** What the child wrote, for failure messages. */
  #written(): string {
    return `\n--- stdout:\n${this.stdout}\n--- stderr:\n${this.stderr}`;
  }

  /**
   * Waits until `check` returns something other than `undefined` (called at
   * once and after every output or exit), and returns it. After `ms`, kills
   * the child and rejects, saying `what` did not happen.
   */
  #until<T>(check: () => T | undefined, what: string, ms: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#changed.off('change', onChange);
        settle();
      };
      const onChange = () => {
        let value: T | undefined;
        try {
          value = check();
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        if (value !== undefined) finish(() => resolve(value));
      };
      const timer = setTimeout(() => {
        const killed = this.#exit === undefined ? ' (killed)' : '';
        this.kill();
        const failure = `${this.#name}: ${what} did not happen within ${ms} ms${killed}`;
        finish(() => reject(new Error(`${failure}${this.#written()}`)));
      }, ms);
      this.#changed.on('change', onChange);
      onChange();
    });
  }

  /**
   * Waits until `check` returns something other than `undefined` (called at
   * once and after every output), and returns it; rejects when the child
   * ends first or after `ms`, saying `what` did not happen.
   */
  waitUntil<T>(check: () => T | undefined, what: string, ms = DEFAULT_MS): Promise<T> {
    return this.#until(
      () => {
        const value = check();
        if (value !== undefined) return value;
        if (this.#exit !== undefined) {
          const how = this.#exit instanceof Error ? this.#exit.message : JSON.stringify(this.#exit);
          throw new Error(`${this.#name} ended (${how}) before ${what}${this.#written()}`);
        }
        return undefined;
      },
      what,
      ms,
    );
  }

  /** The first match of `pattern` in `stream`; rejects when the child ends first or after `ms`. */
  waitFor(
    stream: Output,
    pattern: RegExp,
    what: string,
    ms = DEFAULT_MS,
  ): Promise<RegExpExecArray> {
    return this.waitUntil(() => pattern.exec(this[stream]) ?? undefined, what, ms);
  }

  /** How the child ended; rejects when it is still running after `ms`. */
  exited(ms = DEFAULT_MS): Promise<Exit> {
    return this.#until(
      () => {
        if (this.#exit instanceof Error) throw this.#exit;
        return this.#exit;
      },
      'the exit',
      ms,
    );
  }

  /** Its exit code; rejects when a signal ended it, or when it is still running after `ms`. */
  async exitCode(ms = DEFAULT_MS): Promise<number> {
    const { code, signal } = await this.exited(ms);
    if (code === null) throw new Error(`${this.#name} was ended by ${signal}${this.#written()}`);
    return code;
  }

  /** Sends `signal` and waits for the exit. */
  stop(signal: NodeJS.Signals = 'SIGTERM', ms = DEFAULT_MS): Promise<Exit> {
    this.#child.kill(signal);
    return this.exited(ms);
  }

  /** Cleanup: kills the child if it still runs. */
  kill(): void {
    if (this.#exit === undefined) this.#child.kill('SIGKILL');
  }
}

/**
 * Registers an `afterEach` hook that kills the children passed to the
 * returned function, so that a failed test leaves none running.
 */
export function killedAfterEach(): (child: TestChild) => TestChild {
  const children = new Set<TestChild>();
  afterEach(() => {
    for (const child of children) child.kill();
    children.clear();
  });
  return (child) => {
    children.add(child);
    return child;
  };
}
