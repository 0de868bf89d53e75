/**
 * The commands every simulator interface answers: `Auth`, `Unauth`,
 * `WhoAmI` and `GetNodeInfo` (ddmw-client-reference.md §5).
 */
import { type as osType } from 'node:os';
import { Params, type Telegram } from '../../blather/index.ts';
import { type AccountStore, UNAUTHENTICATED } from '../accounts/accounts.ts';
import type { GuardedLogin, LoginGuard } from '../accounts/login-guard.ts';
import type { NodeType } from './node.ts';
import { CommandFailed, type CommandHandler, type Session } from './session.ts';

/** The link engine name `GetNodeInfo` reports. */
export const LINK_ENGINE = 'ddmw-sim';

/** What `GetNodeInfo` reports about a node. */
export interface NodeIdentity {
  /** Reported as `ddmw.node`. */
  nodeType: NodeType;
  /** Reported as `ddmw.version`. */
  version: string;
}

/** The `Fail` reason of a failed login; `what` says what was wrong with the credentials. */
function loginFailure(result: GuardedLogin & { ok: false }, what: string): CommandFailed {
  switch (result.reason) {
    case 'locked':
      return new CommandFailed('Authentication failed: the account is locked');
    case 'busy':
      return new CommandFailed(
        'Authentication refused: too many logins waiting for a passphrase check, try again later',
      );
    case 'throttled':
      return new CommandFailed(
        'Authentication refused: too many failed logins for this account name, try again later',
      );
    default:
      return new CommandFailed(`Authentication failed: ${what}`);
  }
}

/**
 * `Auth`: log in with `AccName` + `Pass` (and `ReqTkn` to get a `Tkn` back),
 * or with a `Tkn` issued earlier on any interface. A failed attempt leaves
 * the connection's account unchanged, and is answered late (see login-guard.ts).
 */
async function auth(
  accounts: AccountStore,
  logins: LoginGuard,
  session: Session,
  request: Telegram,
): Promise<Params> {
  const params = request.params;
  const token = params.get('Tkn');
  const name = params.get('AccName');
  const pass = params.get('Pass');
  if (token !== undefined) {
    if (name !== undefined || pass !== undefined) {
      throw new CommandFailed('Auth takes either Tkn, or AccName and Pass, not both');
    }
    const result = await logins.withToken(session, token);
    if (!result.ok) throw loginFailure(result, 'unknown token');
    session.account = result.account;
    return new Params();
  }
  if (name === undefined || pass === undefined) {
    throw new CommandFailed('Auth needs AccName and Pass, or Tkn');
  }
  const wantToken = params.getBoolDef('ReqTkn', false);
  const result = await logins.withPassword(session, name, pass);
  if (!result.ok) throw loginFailure(result, 'unknown account or wrong passphrase');
  session.account = result.account;
  const reply = new Params();
  if (wantToken) reply.set('Tkn', accounts.issueToken(result.account));
  return reply;
}

/** `Unauth`: the connection goes back to the built-in unauthenticated account. */
function unauth(session: Session): Params {
  session.account = UNAUTHENTICATED;
  return new Params();
}

/** `WhoAmI`: `Id` and `Name` of the connection's account. */
function whoAmI(session: Session): Params {
  return new Params().set('Id', session.account.id).set('Name', session.account.name);
}

/**
 * `GetNodeInfo`: node type, version, OS and link details. The engine is
 * sent under both spellings the Rust clients read (`ddlnk` and `ddlink`).
 */
function nodeInfo(node: NodeIdentity): Params {
  return new Params()
    .set('ddmw.node', node.nodeType)
    .set('ddmw.version', node.version)
    .set('os.name', osType())
    .set('ddmw.ddlnk.engine', LINK_ENGINE)
    .set('ddmw.ddlink.engine', LINK_ENGINE)
    .set('ddmw.ddlink.protocol', 'udp')
    .set('ddmw.ddlink.protimpl', 'generic');
}

/** The command table shared by every interface of a node; interfaces add their own commands to a copy. */
export function commonCommands(
  accounts: AccountStore,
  logins: LoginGuard,
  node: NodeIdentity,
): Map<string, CommandHandler> {
  return new Map<string, CommandHandler>([
    ['Auth', (session, request) => auth(accounts, logins, session, request)],
    ['Unauth', unauth],
    ['WhoAmI', whoAmI],
    ['GetNodeInfo', () => nodeInfo(node)],
  ]);
}
