/** `ddmw --version` prints this package's version. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { it } from 'node:test';
import { TestChild } from '../helpers/child.ts';
import { ddmwArgs } from '../helpers/ddmw.ts';

it('ddmw --version and -V print the version from package.json, exit 0', async () => {
  const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const child = new TestChild(`ddmw ${flag}`, process.execPath, ddmwArgs(flag), process.env);
    assert.deepEqual(await child.exited(), { code: 0, signal: null }, child.stderr);
    assert.equal(child.stdout, `${version}\n`);
  }
});
