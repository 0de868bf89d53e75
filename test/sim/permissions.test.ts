/**
 * Permission names in canonical form, without a simulator: a channel
 * permission gets its channel's canonical text, every other permission is
 * kept as written, and one that cannot be a permission is refused with a
 * reason quoting it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalPermission, canonicalPermissions } from '../../src/sim/accounts/permissions.ts';
import { CommandFailed } from '../../src/sim/node/command-failed.ts';

describe('canonicalPermission', () => {
  it('gives the channel of a send or subscribe permission its canonical text', () => {
    for (const [perm, canonical] of [
      ['send:042', 'send:42'],
      ['send:+42', 'send:42'],
      ['send:42', 'send:42'],
      ['subscribe:007', 'subscribe:7'],
      ['subscribe:0256', 'subscribe:0256'],
      ['send:telemetry', 'send:telemetry'],
      ['send:a:b', 'send:a:b'],
    ]) {
      assert.equal(canonicalPermission(perm as string), canonical, perm);
    }
  });

  it('keeps every other permission as written', () => {
    for (const perm of [
      '*',
      'send',
      'subscribe',
      'sendx',
      'subscribes',
      'admin',
      'admin:007',
      'Send:007',
      ':007',
      'a b',
    ]) {
      assert.equal(canonicalPermission(perm), perm, perm);
    }
  });

  it('refuses what cannot be a permission, quoting it', () => {
    for (const [perm, why] of [
      ['', 'it is empty'],
      ['send:1,send:2', "it contains ','"],
      ['admin,', "it contains ','"],
      [' send:42', 'it starts or ends with white space'],
      ['send:42 ', 'it starts or ends with white space'],
      ['admin\t', 'it starts or ends with white space'],
      ['send: 42', 'its channel starts or ends with white space'],
      ['subscribe:\t7', 'its channel starts or ends with white space'],
      ['send:', 'the channel is empty'],
      [`subscribe:${'x'.repeat(256)}`, 'channel names are limited to 255 bytes'],
    ]) {
      assert.throws(
        () => canonicalPermission(perm as string),
        new CommandFailed(`Permission "${perm}" is not valid: ${why}`),
        perm,
      );
    }
  });
});

describe('canonicalPermissions', () => {
  it('gives the canonical forms without duplicates', () => {
    assert.deepEqual(
      canonicalPermissions(['send:042', 'send:+42', 'send:42', 'admin', 'subscribe:7']),
      new Set(['send:42', 'admin', 'subscribe:7']),
    );
    assert.deepEqual(canonicalPermissions([]), new Set());
  });

  it('refuses the whole list for one permission that is not valid', () => {
    assert.throws(
      () => canonicalPermissions(['send:1', 'send:']),
      new CommandFailed('Permission "send:" is not valid: the channel is empty'),
    );
  });
});
