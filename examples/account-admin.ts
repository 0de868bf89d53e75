/**
 * Account administration on the sender node's management interface: list
 * the accounts (locked ones too), show one, grant it a permission, and show
 * it again. Needs an account with `accounts.read` and `accounts.write`.
 *
 *   DDMW_APPCONF=./ddmwapp.toml node --import tsx examples/account-admin.ts <account> <permission>
 */
import { conf, conn, mgmt } from '../src/index.ts';

const [account, permission] = process.argv.slice(2);
if (!account || !permission) throw new Error('usage: account-admin.ts <account> <permission>');
const config = await conf.load();
const addr = config?.sender?.mgmtif;
if (addr === undefined) throw new Error('ddmwapp.toml needs [sender] mgmtif');

const c = await conn.connect(addr, { auth: config?.auth });
try {
  for (const entry of await mgmt.acc.ls(c, true)) console.log(`account ${entry.id}: ${entry.name}`);
  const before = await mgmt.acc.rd(c, account);
  console.log(`${before.name}: ${[...before.perms].join(',') || '(no permissions)'}`);
  await mgmt.acc.wr(c, account, { perms: { grant: [permission] } });
  const after = await mgmt.acc.rd(c, account);
  console.log(`${after.name}: ${[...after.perms].join(',')}`);
} finally {
  await c.close();
}
