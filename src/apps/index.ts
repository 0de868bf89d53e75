/**
 * DDMW applications built on the library's public API, as an application
 * would build them (they import nothing but `ddmw-client`'s own exports):
 * file and folder transfer (`file`, `folder`), UDP pass-through (`udp`)
 * and delivery accounting (`ledger`).
 *
 * @module
 */
export * as file from './files/index.ts';
export * as folder from './folder/index.ts';
export * as ledger from './ledger/index.ts';
export * as udp from './udp/index.ts';
