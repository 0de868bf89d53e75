/**
 * The areas of mutation testing: the files mutated in each, and the test
 * files that judge them (fastest first, so most mutants die early). A
 * mutant in the codec is judged by the codec's tests, not by a simulator
 * test that happens to pass through it. Used by stryker.config.mjs and
 * scripts/mutate.mjs. Tests that run the `ddmw` command are left out: it
 * runs from dist/, which is never mutated.
 */

/** Area name -> the files mutated and the test files that judge them (fastest first). */
export const AREAS = {
  blather: {
    mutate: ['src/blather/**/*.ts'],
    testFiles: [
      'test/blather/display.test.ts',
      'test/blather/fed-readable.test.ts',
      'test/blather/validate-messages.test.ts',
      'test/blather/values-parse.test.ts',
      'test/blather/params-access.test.ts',
      'test/blather/source-adapt.test.ts',
      'test/blather/source-readable.test.ts',
      'test/blather/file-sink-errors.test.ts',
      'test/blather/file-sink.test.ts',
      'test/blather/reader-states.test.ts',
      'test/blather/reader-lending.test.ts',
      'test/blather/types.test.ts',
      'test/blather/reader.test.ts',
      'test/blather/vectors.test.ts',
      'test/blather/limits.test.ts',
      'test/blather/property.test.ts',
      'test/conn/read-buffer.test.ts',
      'test/wire/transcript-client.test.ts',
    ],
  },
  conn: {
    mutate: ['src/conn/**/*.ts', 'src/auth.ts'],
    testFiles: [
      'test/conn/addr.test.ts',
      'test/conn/watchdog.test.ts',
      'test/conn/auth-files.test.ts',
      'test/conn/connect-options.test.ts',
      'test/conn/fail-reply.test.ts',
      'test/conn/closing.test.ts',
      'test/conn/write-stream.test.ts',
      'test/conn/turns.test.ts',
      'test/conn/serialisation.test.ts',
      'test/conn/probe.test.ts',
      'test/conn/read-buffer.test.ts',
      'test/conn/faults.test.ts',
      'test/conn/request-limits.test.ts',
      'test/conn/timeouts.test.ts',
      'test/conn/auth.test.ts',
      'test/conn/auth-refreshing.test.ts',
      'test/conn/socket-source.test.ts',
      'test/conn/flood.test.ts',
      'test/wire/transcript-client.test.ts',
    ],
  },
  msg: {
    mutate: ['src/msg/**/*.ts'],
    testFiles: [
      'test/msg/choose.test.ts',
      'test/msg/skip-reports.test.ts',
      'test/msg/recv-headers.test.ts',
      'test/msg/recv-loop.test.ts',
      'test/msg/send-checks.test.ts',
      'test/msg/subscription-options.test.ts',
      'test/msg/subscription-status.test.ts',
      'test/msg/push-listener.test.ts',
      'test/msg/held-exchange.test.ts',
      'test/msg/file-store.test.ts',
      'test/msg/hostile-node.test.ts',
      'test/msg/faults.test.ts',
      'test/msg/timeouts.test.ts',
      'test/msg/channel-perms.test.ts',
      'test/msg/hostile.test.ts',
      'test/msg/disk-full.test.ts',
      'test/msg/resilience.test.ts',
      'test/msg/roundtrip.test.ts',
      'test/wire/transcript-client.test.ts',
    ],
  },
  sim: {
    mutate: [
      'src/sim/node/channels.ts',
      'src/sim/receiver/subif.ts',
      'src/sim/link/format.ts',
      'src/sim/link/reassembly.ts',
      'src/sim/accounts/permissions.ts',
    ],
    testFiles: [
      'test/sim/channels.test.ts',
      'test/sim/permissions.test.ts',
      'test/sim/link-layout.test.ts',
      'test/sim/link-format.test.ts',
      'test/sim/link-reassembly.test.ts',
      'test/sim/link-loss.test.ts',
      'test/sim/link-damage.test.ts',
      'test/sim/link-memory.test.ts',
      'test/sim/sub-command.test.ts',
      'test/msg/channel-perms.test.ts',
      'test/sim/commands.test.ts',
      'test/sim/link-security.test.ts',
      'test/wire/transcript-sim.test.ts',
      'test/sim/revocation.test.ts',
      'test/sim/link.test.ts',
    ],
  },
};
