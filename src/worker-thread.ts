/**
 * Starting a worker thread from a module next to the caller's, whether the
 * caller runs compiled (`.js`) or from its TypeScript source under tsx.
 * Shared by the library's stream hashing thread and the simulator's link.
 * @internal
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The module that resolves `tsx` in a worker thread, when the caller runs
 * from its TypeScript source and tsx is installed. On Node 20, tsx only
 * registers itself in the main thread, so a worker must do it explicitly.
 */
function typeScriptLoader(): string | undefined {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined; // a runtime that loads .ts files by itself
  }
}

/**
 * Starts the worker whose entry is `name` (without extension) beside the
 * module `callerUrl` (its `import.meta.url`), with the caller's extension.
 * `execArgv` is inherited (passing `process.execArgv` would fail on
 * process-wide flags such as `--title`).
 */
export function startWorker(callerUrl: string, name: string, options: WorkerOptions): Worker {
  const source = new URL(callerUrl).pathname.endsWith('.ts'); // a loader may add a query
  const entry = new URL(`./${name}.${source ? 'ts' : 'js'}`, callerUrl);
  const loader = source ? typeScriptLoader() : undefined;
  if (!loader) return new Worker(entry, options);
  const bootstrap = `import(${JSON.stringify(loader)})
    .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
