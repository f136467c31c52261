// The one interface the bench's worker drives every system through. A driver plays
// one handset: connect (and authenticate / subscribe), send a message to a target,
// report what arrives and what the system acknowledged.
import type { WsClientKind } from './client-socket.ts';
import type { AuthCounts, EndpointSpec, TargetSpec } from '../types.ts';

export interface Hooks {
  /** A message from `sender` with sequence `seq` arrived at `recipient`. */
  message(recipient: number, sender: number, seq: number): void;
  /** The system answered a send (drivers of systems without acks never call this). */
  ack(sender: number, seq: number, ok: boolean, code: string): void;
  /** An endpoint's connection was closed while in use, with this WebSocket close code
   *  (not by the generator's own terminate or close). Drivers that can tell call it. */
  closed?(endpoint: number, code: number): void;
}

export interface DriverContext {
  hooks: Hooks;
  /** 8 bytes written into every message id, so stray traffic is not counted. */
  runTag: Uint8Array;
  /** Every endpoint of this worker, by index (recipients' keys for sealing). */
  specs: Map<number, EndpointSpec>;
  /** Size of a peer message in bytes. */
  payloadBytes: number;
  /** Client library of the raw-WebSocket drivers (Hushwire, uws-relay). */
  wsClient: WsClientKind;
  /** Hushwire resumption tickets: 'off' (every auth signs), 'request' (set-up: after a
   *  signed auth, ask for a ticket before the connect counts as done), 'use' (resume
   *  with the ticket held; ask for none: the measured storm). */
  tickets: 'off' | 'request' | 'use';
  /** Hushwire handsets' authentications since the worker last reset them. */
  auth: AuthCounts;
}

export interface Endpoint {
  /** Opens a fresh connection and resolves once it can send and receive. */
  connect(timeoutMs: number): Promise<void>;
  /** Queues one message to every recipient of the target (batched per event-loop turn where the library allows). */
  send(target: TargetSpec, seq: number): void;
  /** Drops the connection at once, without a goodbye. */
  terminate(): void;
  /** Closes politely. */
  close(): Promise<void>;
}

export interface Driver {
  /** Whether sends are acknowledged by the system (else a send counts as accepted at once). */
  readonly hasAcks: boolean;
  /** Prepares per-flow state (e.g. pre-sealed envelopes) before anything is measured. */
  prepare?(ctx: DriverContext, targets: TargetSpec[]): void;
  endpoint(spec: EndpointSpec, ctx: DriverContext): Endpoint;
}

// ---- message ids: sender (u32) | seq (u32) | run tag (8 bytes) ----

export const ID_BYTES = 16;

// Written and read byte by byte: a DataView (and a result array) per message was
// measurable in the generator, which shares the cores with the systems it measures; every
// driver uses these two, so the saving is the same for every system.

export function writeId(buf: Uint8Array, off: number, sender: number, seq: number, runTag: Uint8Array): void {
  buf[off] = sender >>> 24;
  buf[off + 1] = sender >>> 16;
  buf[off + 2] = sender >>> 8;
  buf[off + 3] = sender;
  buf[off + 4] = seq >>> 24;
  buf[off + 5] = seq >>> 16;
  buf[off + 6] = seq >>> 8;
  buf[off + 7] = seq;
  buf.set(runTag, off + 8);
}

/** Reports the message whose id starts at buf[off] to hooks.message; false (nothing
 *  reported) for an id of another run, or not ours at all. */
export function reportId(buf: Uint8Array, off: number, runTag: Uint8Array, hooks: Hooks, recipient: number): boolean {
  if (buf.length < off + ID_BYTES) return false;
  for (let i = 0; i < 8; i++) if (buf[off + 8 + i] !== runTag[i]) return false;
  const sender = ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
  const seq = ((buf[off + 4]! << 24) | (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!) >>> 0;
  hooks.message(recipient, sender, seq);
  return true;
}

/** A bounded deadline around a promise; rejects with `what` when it passes. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => { onTimeout?.(); reject(new Error(`${what} timed out after ${ms} ms`)); }, ms);
    }),
  ]);
}
