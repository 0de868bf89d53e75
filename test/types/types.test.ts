/** Channels, object references, node enums and interface addresses. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProtAddr, parseProtAddr } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import {
  checkAppChannel,
  formatAppChannel,
  parseAppChannel,
  parseDdlnkProtocol,
  parseNodeType,
  parseObjRef,
  parseProtImpl,
} from '../../src/types.ts';

const code = (c: string) => (e: unknown) => e instanceof DdmwError && e.code === c;

describe('AppChannel', () => {
  it('parses like Rust: u8 text is a number, anything else a name', () => {
    assert.equal(parseAppChannel('42'), 42);
    assert.equal(parseAppChannel('042'), 42);
    assert.equal(parseAppChannel('0'), 0);
    assert.equal(parseAppChannel('255'), 255);
    assert.equal(parseAppChannel('telemetry'), 'telemetry');
    assert.equal(parseAppChannel('ch-1 a'), 'ch-1 a');
  });
  it('refuses what cannot be a channel', () => {
    assert.throws(() => parseAppChannel('256'), code('BAD_INPUT'));
    assert.throws(() => parseAppChannel(''), code('BAD_INPUT'));
    assert.throws(() => parseAppChannel('a\nb'), code('BAD_INPUT'));
    assert.throws(() => parseAppChannel(' padded'), code('BAD_INPUT'));
    assert.throws(() => parseAppChannel('x'.repeat(256)), code('BAD_INPUT'));
    assert.throws(() => checkAppChannel(-1), code('BAD_INPUT'));
    assert.throws(() => checkAppChannel(1.5), code('BAD_INPUT'));
    assert.throws(() => checkAppChannel(256), code('BAD_INPUT'));
  });
  it('formats for the wire', () => {
    assert.equal(formatAppChannel(7), '7');
    assert.equal(formatAppChannel('logs'), 'logs');
  });
});

describe('ObjRef and enums', () => {
  it('parses object references', () => {
    assert.equal(parseObjRef('12'), 12);
    assert.equal(parseObjRef('-3'), -3);
    assert.equal(parseObjRef('frank'), 'frank');
    assert.equal(parseObjRef('99999999999999999999'), '99999999999999999999');
  });
  it('parses enums, refusing unknown values', () => {
    assert.equal(parseNodeType('sender'), 'sender');
    assert.equal(parseDdlnkProtocol('udp'), 'udp');
    assert.equal(parseProtImpl('pcap'), 'pcap');
    assert.throws(() => parseNodeType('Sender'), code('BAD_INPUT'));
    assert.throws(() => parseDdlnkProtocol('tcp'), code('BAD_INPUT'));
    assert.throws(() => parseProtImpl(''), code('BAD_INPUT'));
  });
});

describe('ProtAddr', () => {
  it('parses TCP, IPv6 and Unix socket addresses', () => {
    assert.deepEqual(parseProtAddr('127.0.0.1:2000'), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 2000,
    });
    assert.deepEqual(parseProtAddr('node-a:4100'), { kind: 'tcp', host: 'node-a', port: 4100 });
    assert.deepEqual(parseProtAddr('[::1]:80'), { kind: 'tcp', host: '::1', port: 80 });
    assert.deepEqual(parseProtAddr('/run/ddmw/msg.sock'), {
      kind: 'uds',
      path: '/run/ddmw/msg.sock',
    });
    assert.deepEqual(parseProtAddr('./x.sock'), { kind: 'uds', path: './x.sock' });
    for (const a of ['127.0.0.1:2000', '[::1]:80', '/tmp/s']) {
      assert.equal(formatProtAddr(parseProtAddr(a)), a);
    }
  });
  it('refuses malformed addresses with PARSE', () => {
    for (const a of ['localhost', ':80', 'h:', 'h:65536', 'h:-1', '::1:80', '[::1]80', 'h:8o']) {
      assert.throws(() => parseProtAddr(a), code('PARSE'), a);
    }
  });
});
