/**
 * Protocol addresses: parsing `host:port`, `[ipv6]:port` and Unix socket
 * paths, the `PARSE` error of each malformed form (saying what is wrong),
 * and formatting back to text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProtAddr, parseProtAddr, toProtAddr } from '../../src/conn/addr.ts';
import { DdmwError } from '../../src/err.ts';

/** Parses `text`, which must fail with `PARSE`; returns the message. */
function parseError(text: string): string {
  try {
    parseProtAddr(text);
  } catch (e) {
    assert.ok(e instanceof DdmwError, `not a DdmwError: ${String(e)}`);
    assert.equal(e.code, 'PARSE', e.message);
    return e.message;
  }
  assert.fail(`${JSON.stringify(text)} parsed`);
}

describe('parseProtAddr', () => {
  it('host:port, with the last colon separating the port', () => {
    assert.deepEqual(parseProtAddr('127.0.0.1:4321'), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 4321,
    });
    assert.deepEqual(parseProtAddr('node.example:0'), {
      kind: 'tcp',
      host: 'node.example',
      port: 0,
    });
    assert.deepEqual(parseProtAddr('h:65535'), { kind: 'tcp', host: 'h', port: 65535 });
  });
  it('[ipv6]:port, without the brackets in host', () => {
    assert.deepEqual(parseProtAddr('[::1]:8080'), { kind: 'tcp', host: '::1', port: 8080 });
    assert.deepEqual(parseProtAddr('[fe80::2:3]:7'), { kind: 'tcp', host: 'fe80::2:3', port: 7 });
  });
  it('anything with a slash is a Unix socket path, kept as is', () => {
    assert.deepEqual(parseProtAddr('/run/ddmw/msg.sock'), {
      kind: 'uds',
      path: '/run/ddmw/msg.sock',
    });
    assert.deepEqual(parseProtAddr('rel/sock:1'), { kind: 'uds', path: 'rel/sock:1' });
  });
  it('each malformed form says what is wrong, quoting the address and the accepted forms', () => {
    const cases: [string, string][] = [
      ['[::1]8080', 'an IPv6 address needs "]:port"'],
      ['[::1', 'an IPv6 address needs "]:port"'],
      ['[::1]', 'an IPv6 address needs "]:port"'],
      ['localhost', 'missing ":port"'],
      ['::1:80', 'an IPv6 address must be written in brackets'],
      [':80', 'missing host'],
      ['[]:80', 'missing host'],
      ['h:', 'the port must be a number from 0 to 65535'],
      ['h:65536', 'the port must be a number from 0 to 65535'],
      ['h:123456', 'the port must be a number from 0 to 65535'],
      ['h:-1', 'the port must be a number from 0 to 65535'],
      ['h:8o', 'the port must be a number from 0 to 65535'],
      ['[::1]:', 'the port must be a number from 0 to 65535'],
      ['[::1]:x', 'the port must be a number from 0 to 65535'],
    ];
    for (const [text, why] of cases) {
      assert.equal(
        parseError(text),
        `Invalid address ${JSON.stringify(text)}: ${why} (use "host:port", "[ipv6]:port" or a Unix socket path containing "/")`,
        text,
      );
    }
  });
});

describe('formatProtAddr', () => {
  it('gives back the text form, brackets around an IPv6 host', () => {
    for (const text of ['127.0.0.1:4321', '[::1]:8080', 'h:0', '/run/ddmw/msg.sock']) {
      assert.equal(formatProtAddr(parseProtAddr(text)), text);
    }
    assert.equal(formatProtAddr({ kind: 'tcp', host: 'fe80::1', port: 1 }), '[fe80::1]:1');
  });
});

describe('toProtAddr', () => {
  it('parses text and passes a parsed address through', () => {
    const parsed = { kind: 'tcp', host: 'h', port: 1 } as const;
    assert.equal(toProtAddr(parsed), parsed);
    assert.deepEqual(toProtAddr('h:1'), parsed);
  });
});
