/**
 * `ddmw` run as a process against a simulator started by the test: a
 * config file naming its interfaces, an account `cli` with every
 * permission, and children killed when a test fails.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/sim/index.ts';
import { killedAfterEach, TestChild } from './child.ts';
import { ddmwArgs } from './ddmw.ts';

/** Kills the children a failed test leaves running (a file-level hook, registered on import). */
const track = killedAfterEach();

/** A simulator, a folder and a config file for `ddmw` runs. */
export class CliSim {
  readonly sim: Simulator;
  /** A temporary folder, removed by {@link close}. */
  readonly dir: string;
  readonly conf: string;

  private constructor(sim: Simulator, dir: string, conf: string) {
    this.sim = sim;
    this.dir = dir;
    this.conf = conf;
  }

  /** Starts a simulator (with `options` besides the `cli` account) and writes the config. */
  static async start(options: Omit<SimulatorOptions, 'accounts'> = {}): Promise<CliSim> {
    const dir = await mkdtemp(join(tmpdir(), 'ddmw-cli-sim-'));
    const sim = await startSimulator({
      ...options,
      accounts: [{ name: 'cli', pass: 'cli-pass', perms: ['*'] }],
    });
    const conf = join(dir, 'ddmwapp.toml');
    await writeFile(
      conf,
      `channel = "cli"\n[auth]\nname = "cli"\n[sender]\nmsgif = "${sim.sender.msgif}"\n[receiver]\nsubif = "${sim.receiver.subif}"\n`,
    );
    return new CliSim(sim, dir, conf);
  }

  /** Starts `ddmw` with `args` (and `input` on its standard input); killed if the test fails. */
  start(args: string[], input?: string): TestChild {
    const env = { ...process.env, DDMW_PASS: 'cli-pass' };
    const command = ddmwArgs('--config', this.conf, ...args);
    return track(
      new TestChild(`ddmw ${args.join(' ')}`, process.execPath, command, env, { input }),
    );
  }

  /** Runs `ddmw` with `args` to its exit (at most 30 s, else the test fails saying so). */
  async run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = this.start(args);
    const code = await child.exitCode();
    return { code, stdout: child.stdout, stderr: child.stderr };
  }

  /** Starts a receiving `ddmw` and waits until it says it subscribed. */
  async subscribed(...args: string[]): Promise<TestChild> {
    const child = this.start(args);
    await child.waitFor('stderr', /subscribed/, `${args[0]}: the subscription`);
    return child;
  }

  async close(): Promise<void> {
    await this.sim.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
