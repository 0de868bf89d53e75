/**
 * Starts the one-way link between the nodes: a random key and session id
 * that only its two ends know, the receiving end's thread, the transport,
 * and the sending end.
 */
import { randomBytes } from 'node:crypto';
import type { LossReporter } from '../loss-reports.ts';
import type { Logger } from '../node/session.ts';
import { MEMORY_LIMIT } from '../node/spool.ts';
import type { SimulatorStats } from '../stats.ts';
import { KEY_SIZE, SESSION_SIZE } from './format.ts';
import { type ArrivedTransfer, LinkReceiver } from './receiver.ts';
import { LinkSender } from './sender.ts';
import { type LinkSettings, sealsFrames } from './settings.ts';
import { ChannelTransport, type FrameTransport, UdpTransport } from './transports.ts';

/**
 * Receive buffer requested for the UDP socket (4 MiB; Linux doubles it,
 * capped by net.core.rmem_max): room for bursts while the thread is busy.
 */
const UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;

/**
 * Memory the receiving end may keep large transfers in (until the receiver
 * node is done with them) instead of spool files: 128 MiB. Beyond it they
 * go to spool files, so memory stays bounded whatever the traffic.
 */
const MEMORY_BUDGET = 128 * 1024 * 1024;

/** What the link needs from the simulator. */
export interface LinkContext {
  settings: LinkSettings;
  /** The simulator's private spool folder (mode 0700), for the receiving end's spool files. */
  spoolDir: string;
  stats: SimulatorStats;
  log: Logger | undefined;
  reports: LossReporter;
  /** Gets every transfer that arrived whole; the link slows down until it settles. */
  onTransfer: (transfer: ArrivedTransfer) => Promise<void>;
  /** Gets every change of the link's state. */
  onLinkState: (state: 'up' | 'down', reason: string) => void;
}

/** A running link. */
export interface Link {
  /** Where transfers are opened. */
  sender: LinkSender;
  /** Stops both ends. */
  close(): Promise<void>;
}

/** Starts both ends of the link. */
export async function startLink(ctx: LinkContext): Promise<Link> {
  const { settings, stats, log, reports } = ctx;
  const key = sealsFrames(settings) ? randomBytes(KEY_SIZE) : undefined;
  const session = randomBytes(SESSION_SIZE);
  let sender: LinkSender | undefined;
  const receiver = await LinkReceiver.start({
    config: {
      transport: settings.transport,
      host: '127.0.0.1',
      spoolDir: ctx.spoolDir,
      memoryLimit: MEMORY_LIMIT,
      memoryBudget: MEMORY_BUDGET,
      recvBufferSize: UDP_RECEIVE_BUFFER,
      key,
      session,
      frameSize: settings.datagramSize,
      maxTransferBytes: settings.maxTransferBytes,
      heartbeatMs: settings.heartbeatMs,
      heartbeatMisses: settings.heartbeatMisses,
      watchLink: settings.transport === 'udp' || settings.faults.down.length > 0,
    },
    onTransfer: async (transfer) => {
      await ctx.onTransfer(transfer);
      reports.arrived(transfer.number);
    },
    onFailure: (f) => reports.report(f.number, f.kind, f.reason),
    onLinkState: ctx.onLinkState,
    onThreadExit: () => {
      // Nothing can arrive any more: say so, and stop the sending end (it would wait forever).
      log?.('link: the receiving thread ended');
      ctx.onLinkState('down', 'the receiving end of the link stopped');
      void sender?.close();
    },
    stats,
    log,
  });
  const onError = (err: Error) => log?.(`link: send error: ${err.message}`);
  let transport: FrameTransport;
  try {
    transport =
      settings.transport === 'udp'
        ? await UdpTransport.open(receiver.port, onError)
        : new ChannelTransport(receiver.framePort, receiver.ring);
  } catch (err) {
    await receiver.close();
    throw err;
  }
  sender = new LinkSender({
    settings,
    transport,
    key,
    session,
    stats,
    log,
    onOpen: (number, carried) => reports.opened(number, carried),
  });
  const started = sender;
  return {
    sender: started,
    async close() {
      await started.close();
      await receiver.close();
    },
  };
}
