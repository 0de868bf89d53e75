/**
 * The published package, as a user gets it: `npm pack`, install the tarball
 * into a fresh project, import both entry points as ESM, type-check a small
 * TypeScript file against the shipped types, and run the `ddmw` binary
 * (`--help`, then `probe` against `ddmw sim` from the installed copy).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestChild } from '../helpers/child.ts';
import { checkBuild } from '../helpers/ddmw.ts';

const repo = resolve(import.meta.dirname, '../..');
let dir: string;

/** Where and how long {@link exec} runs a command, and what its failure means. */
interface ExecOptions {
  /** Default: the consumer project. */
  cwd?: string;
  ms?: number;
  failure?: string;
}

/** Runs `command` to its exit, which must be a success; returns the child with its output. */
async function exec(command: string, args: string[], options: ExecOptions = {}) {
  const { cwd = dir, ms, failure = `${command} ${args.join(' ')} failed` } = options;
  const child = new TestChild(`${command} ${args.join(' ')}`, command, args, process.env, { cwd });
  const exit = await child.exited(ms);
  assert.deepEqual(exit, { code: 0, signal: null }, `${failure}:\n${child.stdout}${child.stderr}`);
  return child;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-pack-'));
  // The build npm test made (checked fresh), not a new one from the prepare script: tests
  // running beside this one use dist/, and must not see it rewritten.
  checkBuild();
  const pack = ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'];
  const { stdout } = await exec('npm', pack, { cwd: repo, ms: 120_000 });
  const tarball = join(dir, stdout.trim().split('\n').pop() as string);
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  const install = ['install', '--no-audit', '--no-fund', '--silent', tarball];
  await exec('npm', install, { ms: 120_000 });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('imports as ESM, every entry point', async () => {
    const script = `
      import { conn, msg, blather, DdmwError } from 'ddmw-client';
      import { startSimulator } from 'ddmw-client/sim';
      import { ledger } from 'ddmw-client/apps';
      const sim = await startSimulator({ accounts: [{ name: 'a', pass: 'b', perms: ['*'] }] });
      const c = await conn.connect(sim.sender.msgif, { auth: { name: 'a', pass: 'b' } });
      const me = await conn.whoami(c);
      await c.close();
      await sim.close();
      console.log(JSON.stringify({ me: me.name, msg: typeof msg.send, tg: new blather.Telegram('Ok').topic, err: typeof DdmwError, reconcile: typeof ledger.reconcile }));
    `;
    await writeFile(join(dir, 'use.mjs'), script);
    const { stdout } = await exec(process.execPath, ['use.mjs']);
    assert.deepEqual(JSON.parse(stdout), {
      me: 'a',
      msg: 'function',
      tg: 'Ok',
      err: 'function',
      reconcile: 'function',
    });
  });

  // The oldest TypeScript we support, and the one we build with; the shipped types are checked too (skipLibCheck off).
  for (const compiler of ['typescript-5.4', 'typescript']) {
    it(`type-checks a TypeScript file against the shipped types (${compiler}, skipLibCheck off)`, async () => {
      const sub = join(dir, compiler);
      await mkdir(sub, { recursive: true });
      await writeFile(
        join(sub, 'typed.ts'),
        `import { conn, msg, type DdmwErrorCode } from 'ddmw-client';
         import { startSimulator, type Simulator } from 'ddmw-client/sim';
         export async function go(): Promise<string> {
           const sim: Simulator = await startSimulator({});
           const c: conn.Connection = await conn.connect(sim.sender.msgif);
           const id: string = await msg.send(c, { ch: 1, payload: 'x' });
           const code: DdmwErrorCode = 'TIMEOUT';
           return id + code;
         }
         // @ts-expect-error: a channel must be a number or a string
         msg.send(null as unknown as conn.Connection, { ch: true });
        `,
      );
      await writeFile(
        join(sub, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            types: ['node'],
            typeRoots: [join(repo, 'node_modules/@types')],
          },
          files: ['typed.ts'],
        }),
      );
      const tsc = join(repo, 'node_modules', compiler, 'bin/tsc');
      const failure = `${compiler} found errors in the shipped types`;
      await exec(process.execPath, [tsc, '-p', sub], { ms: 60_000, failure });
    });
  }

  it('runs ddmw --help and ddmw probe against ddmw sim', async () => {
    const bin = join(dir, 'node_modules/.bin/ddmw');
    const help = await exec(bin, ['--help']);
    assert.match(help.stdout, /Usage: ddmw/);
    const sim = new TestChild('ddmw sim', bin, ['sim', '--json'], process.env, { cwd: dir });
    try {
      const [line] = await sim.waitFor('stdout', /^.*\n/, 'the addresses (a JSON line)');
      const addresses = JSON.parse(line) as { sender: { mgmtif: string } };
      const probe = await exec(bin, [
        'probe',
        '--config',
        '/dev/null',
        '--addr',
        addresses.sender.mgmtif,
      ]);
      assert.match(probe.stdout, /sender node, DDMW/);
    } finally {
      sim.kill();
    }
    assert.ok(
      (await readFile(join(dir, 'node_modules/ddmw-client/package.json'), 'utf8')).includes(
        '"bin"',
      ),
    );
  });
});
