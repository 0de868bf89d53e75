/**
 * What the demo sends across the link, each with how far it got, and how
 * that is reported: the summary table, and what did not arrive.
 */

/** One message or stream, and how far it got. */
export interface Item {
  /** Names it: "64 MiB file". */
  what: string;
  bytes: number;
  /** Assigned by the sender node once it was sent (or opened). */
  xferId?: string;
  sent: boolean;
  received: boolean;
  verified: boolean;
  /** From sending to received in full. */
  ms?: number;
}

/** An item not sent yet. */
export function newItem(what: string, bytes: number): Item {
  return { what, bytes, sent: false, received: false, verified: false };
}

/** "64 MiB file (67,108,864 bytes, xfer 8c1f...)": what, size and, once known, transfer id. */
export function label(item: Item): string {
  const id = item.xferId === undefined ? '' : `, xfer ${item.xferId}`;
  return `${item.what} (${item.bytes.toLocaleString('en')} bytes${id})`;
}

/** The summary table. */
export function table(items: Item[]): string {
  const head = ['what', 'bytes', 'sent', 'received', 'sha-256', 'time', 'throughput'];
  const body = items.map((r) => [
    r.what,
    r.bytes.toLocaleString('en'),
    r.sent ? 'yes' : 'NO',
    r.received ? 'yes' : 'NO',
    r.received ? (r.verified ? 'verified' : 'MISMATCH') : '-',
    r.ms === undefined ? '' : `${r.ms.toFixed(0)} ms`,
    r.ms !== undefined && r.bytes > 1e6
      ? `${(r.bytes / 1048576 / (r.ms / 1000)).toFixed(0)} MiB/s`
      : '',
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.map((b) => (b[i] as string).length)),
  );
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Lines naming the items that did not arrive, and those that arrived but did not verify. */
export function shortfall(items: Item[]): string[] {
  const lines: string[] = [];
  const missing = items.filter((i) => !i.received);
  const damaged = items.filter((i) => i.received && !i.verified);
  const named = (i: Item) => (i.sent ? label(i) : `${label(i)}, not sent`);
  if (missing.length > 0) lines.push(`did not arrive: ${missing.map(named).join('; ')}`);
  if (damaged.length > 0)
    lines.push(`arrived but did not verify: ${damaged.map(label).join('; ')}`);
  return lines;
}
