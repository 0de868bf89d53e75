/** probe.getNodeInfo against scripted replies: key spellings, unknown values, missing keys. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeTelegram, type ParamValue, Telegram } from '../../src/blather/index.ts';
import { connect } from '../../src/conn/index.ts';
import { getNodeInfo } from '../../src/probe.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { startFakeServer } from '../helpers/fake-server.ts';

const FULL: Record<string, ParamValue> = {
  'ddmw.node': 'receiver',
  'ddmw.version': '2.1.0',
  'os.name': 'Linux',
  'ddmw.ddlnk.engine': 'eng1',
  'ddmw.ddlink.protocol': 'ethernet',
  'ddmw.ddlink.protimpl': 'pcap',
};

async function probeWith(reply: Record<string, ParamValue>) {
  const server = await startFakeServer(async ({ socket, reader }) => {
    const req = await reader.readTelegram();
    assert.equal(req.topic, 'GetNodeInfo');
    socket.write(encodeTelegram(new Telegram('Ok', reply)));
  });
  const conn = await connect(server.addr);
  try {
    return await getNodeInfo(conn);
  } finally {
    await conn.close();
    await server.close();
  }
}

describe('getNodeInfo', () => {
  it('parses the Rust 0.1 spelling', async () => {
    assert.deepEqual(await probeWith(FULL), {
      version: '2.1.0',
      osName: 'Linux',
      nodeType: 'receiver',
      ddlnk: { engine: 'eng1', protocol: 'ethernet', protImpl: 'pcap' },
    });
  });
  it('accepts ddmw.ddlink.engine too', async () => {
    const { 'ddmw.ddlnk.engine': _, ...rest } = FULL;
    const info = await probeWith({ ...rest, 'ddmw.ddlink.engine': 'eng2' });
    assert.equal(info.ddlnk.engine, 'eng2');
  });
  it('an unknown enum value is BAD_INPUT', async () => {
    for (const [key, value] of [
      ['ddmw.node', 'router'],
      ['ddmw.ddlink.protocol', 'carrier-pigeon'],
      ['ddmw.ddlink.protimpl', 'magic'],
    ]) {
      const err = await rejectsCode(
        probeWith({ ...FULL, [key as string]: value as string }),
        'BAD_INPUT',
      );
      assert.ok(err.message.includes(value as string), err.message);
    }
  });
  it('a missing key is MISSING_DATA naming the key', async () => {
    for (const key of Object.keys(FULL)) {
      const reply = { ...FULL };
      delete reply[key];
      const err = await rejectsCode(probeWith(reply), 'MISSING_DATA');
      assert.ok(err.message.includes(key), err.message);
    }
  });
});
