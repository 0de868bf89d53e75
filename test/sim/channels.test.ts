/**
 * Channels and the permissions that guard them, without a simulator: the
 * canonical text of a channel (a number 0..255 in Rust `u8` syntax, else a
 * name), who may send or subscribe, and the reason a refusal gives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  channelPermission,
  deniedReason,
  mayUse,
  type Permissions,
  parseChannel,
} from '../../src/sim/node/channels.ts';
import { CommandFailed } from '../../src/sim/node/command-failed.ts';

/** An account holding `perms`. */
const account = (perms: string[], lock = false): Permissions => ({
  name: 'ann',
  perms: new Set(perms),
  lock,
});

describe('parseChannel', () => {
  it('gives a number 0..255 its plain decimal form', () => {
    for (const [text, canonical] of [
      ['0', '0'],
      ['42', '42'],
      ['042', '42'],
      ['00042', '42'],
      ['+42', '42'],
      ['+0042', '42'],
      ['000', '0'],
      ['255', '255'],
      ['0255', '255'],
      ['+255', '255'],
    ]) {
      assert.equal(parseChannel(text as string), canonical, text);
    }
  });

  it('keeps anything else as a name, as written', () => {
    for (const name of [
      '256',
      '0256',
      '+256',
      '1000',
      'x42',
      '42x',
      ' 42',
      '42 ',
      '-1',
      '++42',
      '4 2',
      'telemetry',
      'Ärger',
      '+',
    ]) {
      assert.equal(parseChannel(name), name, name);
    }
  });

  it('accepts a name of 255 UTF-8 bytes, refuses an empty one and a longer one', () => {
    assert.equal(parseChannel('x'.repeat(255)), 'x'.repeat(255));
    assert.equal(parseChannel('é'.repeat(127)), 'é'.repeat(127)); // 254 bytes
    assert.throws(() => parseChannel(''), new CommandFailed('The channel is empty'));
    for (const long of ['x'.repeat(256), 'é'.repeat(128)]) {
      assert.throws(
        () => parseChannel(long),
        new CommandFailed('Channel names are limited to 255 bytes'),
        `${Buffer.byteLength(long)} bytes`,
      );
    }
  });
});

describe('mayUse', () => {
  it('lets through `*`, the plain permission and the one for the channel', () => {
    for (const perms of [['*'], ['send'], ['send:42'], ['subscribe', 'send:42']]) {
      assert.ok(mayUse(account(perms), 'send', '42'), perms.join(','));
    }
    assert.ok(mayUse(account(['subscribe:telemetry']), 'subscribe', 'telemetry'));
  });

  it('refuses another action, another channel and no permission', () => {
    for (const perms of [[], ['subscribe'], ['subscribe:42'], ['send:43'], ['send:'], ['42']]) {
      assert.ok(!mayUse(account(perms), 'send', '42'), perms.join(','));
    }
  });

  it('refuses everything to a locked account, even with `*`', () => {
    for (const perms of [['*'], ['send'], ['send:42']]) {
      assert.ok(!mayUse(account(perms, true), 'send', '42'), perms.join(','));
      assert.ok(!mayUse(account(perms, true), 'subscribe', '42'), perms.join(','));
    }
  });

  it('names the permission for one channel `<action>:<channel>`', () => {
    assert.equal(channelPermission('send', '42'), 'send:42');
    assert.equal(channelPermission('subscribe', 'telemetry'), 'subscribe:telemetry');
  });
});

describe('deniedReason', () => {
  it('says who may not do what on which channel', () => {
    assert.equal(
      deniedReason(account([]), 'send', '42'),
      'Permission denied: account "ann" may not send on channel "42"',
    );
    assert.equal(
      deniedReason(account(['send']), 'subscribe', 'telemetry'),
      'Permission denied: account "ann" may not subscribe to channel "telemetry"',
    );
  });

  it('says when the account is locked or removed', () => {
    assert.equal(
      deniedReason(account(['*'], true), 'subscribe', '7'),
      'Permission denied: account "ann" may not subscribe to channel "7" (the account is locked or removed)',
    );
  });
});
