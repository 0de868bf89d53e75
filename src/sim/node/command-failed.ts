/**
 * The error a command throws to be answered `Fail`. It has a file of its
 * own so that modules below the session (channels, permissions) can throw
 * it without importing the session.
 */

/**
 * Thrown by a command handler to reply `Fail` with this reason. The reason
 * is sent to the client and logged: it must not contain secrets.
 */
export class CommandFailed extends Error {
  /** @param reason the human-readable `Reason` of the `Fail` reply */
  constructor(reason: string) {
    super(reason);
    this.name = 'CommandFailed';
  }
}
