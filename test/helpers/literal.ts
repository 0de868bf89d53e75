/** Text to match literally inside a regular expression. */

/** `text` with every character that means something in a RegExp escaped. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
