/**
 * How tests run the `ddmw` command: from this checkout's build,
 * `dist/cli/main.js`, which starts in a third of the CPU time the
 * TypeScript source takes through tsx (the suite runs it some 80 times).
 * `npm test` builds first. A build older than any file of `src/` is refused,
 * naming the file, so a test never runs stale code: run `npm run build`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
/** The built CLI. */
export const DDMW_MAIN = join(ROOT, 'dist/cli/main.js');

/** The newest file under `dir` and its modification time. */
function newest(dir: string): { path: string; mtimeMs: number } {
  let found = { path: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const candidate = entry.isDirectory()
      ? newest(path)
      : { path, mtimeMs: statSync(path).mtimeMs };
    if (candidate.mtimeMs > found.mtimeMs) found = candidate;
  }
  return found;
}

let checked = false;

/** Throws, saying what to do, when `dist/` is missing or older than `src/`. */
export function checkBuild(): void {
  if (checked) return;
  let built: number;
  try {
    built = statSync(DDMW_MAIN).mtimeMs;
  } catch {
    throw new Error(`${DDMW_MAIN} is missing: run npm run build (npm test builds first)`);
  }
  const changed = newest(join(ROOT, 'src'));
  if (changed.mtimeMs > built) {
    throw new Error(
      `dist/ is older than ${changed.path}: run npm run build (npm test builds first)`,
    );
  }
  checked = true;
}

/** Node's arguments to run `ddmw` with `args`. */
export function ddmwArgs(...args: string[]): string[] {
  checkBuild();
  return [DDMW_MAIN, ...args];
}
