/**
 * Management of a DDMW node over its management interface. The only part
 * so far is `acc`, account management.
 *
 * @module
 */
export * as acc from './acc.ts';
