/**
 * The applications are built on the library's public API, as a user's
 * would be: every import in src/apps is a Node built-in, another file of
 * src/apps, or the package's main entry (src/index.ts, `ddmw-client`).
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const SRC = resolve(import.meta.dirname, '../../src');
const APPS = join(SRC, 'apps');
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The imports of `file` that are neither built-ins, nor in src/apps, nor the main entry. */
function privateImports(file: string, text: string): string[] {
  const bad: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2]) as string;
    if (spec.startsWith('node:')) continue;
    if (!spec.startsWith('.')) {
      bad.push(spec);
      continue;
    }
    const target = resolve(dirname(file), spec);
    const inApps = !relative(APPS, target).startsWith('..');
    if (!inApps && target !== join(SRC, 'index.ts')) bad.push(spec);
  }
  return bad;
}

describe('src/apps', () => {
  it('imports nothing but Node built-ins, its own files and the main entry', async () => {
    const files = await sources(APPS);
    assert.ok(files.length > 0, 'no sources found under src/apps');
    for (const file of files) {
      const bad = privateImports(file, await readFile(file, 'utf8'));
      assert.deepEqual(bad, [], `${relative(SRC, file)} imports private modules`);
    }
  });

  it('would notice a private import (the check itself)', () => {
    const file = join(APPS, 'ledger', 'x.ts');
    const text = [
      "import { DdmwError } from '../../index.ts';",
      "import { toDdmwError } from '../../err.ts';",
      "import type { Exchange } from '../../conn/connection.ts';",
      "export { x } from './y.ts';",
      "const m = await import('../../msg/recv.ts');",
      "import { Command } from 'commander';",
    ].join('\n');
    assert.deepEqual(privateImports(file, text), [
      '../../err.ts',
      '../../conn/connection.ts',
      '../../msg/recv.ts',
      'commander',
    ]);
  });
});
