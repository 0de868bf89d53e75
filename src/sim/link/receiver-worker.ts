/**
 * Entry point of the thread that runs the receiving end of the one-way
 * link: it binds the UDP socket, feeds every datagram to a
 * {@link Reassembler} and posts the results to the receiver node. It has a
 * thread of its own so that the node's work (sockets, spool files) cannot
 * keep it from draining the socket: a receiver in the sender's event loop
 * loses datagrams.
 *
 * Messages from the node: `'close'` (stop, remove unfinished spool files,
 * exit). A socket error is not handled here: it ends the thread, and the
 * node reports it.
 */
import { createSocket } from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import type { LinkEvent, LinkReceiverConfig } from './format.ts';
import { Reassembler } from './reassembly.ts';

const port = parentPort;
if (!port) throw new Error('link/receiver-worker.ts must run as a worker thread');
const config = workerData as LinkReceiverConfig;

const post = (event: LinkEvent, transfer: ArrayBuffer[] = []) => port.postMessage(event, transfer);
const reassembler = new Reassembler(config, post);
const socket = createSocket({ type: 'udp4', recvBufferSize: config.recvBufferSize });

socket.on('message', (datagram) => reassembler.accept(datagram));
socket.bind(0, config.host, () => {
  post({
    type: 'listening',
    port: socket.address().port,
    recvBufferSize: socket.getRecvBufferSize(),
  });
});

port.on('message', (message: unknown) => {
  if (message !== 'close') return;
  socket.close();
  void reassembler.close().then(() => port.close());
});
