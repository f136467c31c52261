// Hushwire handsets speaking the wire protocol directly (no SDK: no profile files, no
// per-message HPKE), so one generator thread can play hundreds of devices.
//
// Envelopes are real: for every sender→recipient flow, POOL envelopes are sealed with
// relay/crypto/seal.ts (HPKE to the recipient's prekey, sealed sender, signed) before
// the run, then reused with a fresh 16-byte id per message (the id carries sender,
// sequence and run tag). The relay cannot tell the difference: it never opens them.
// A recipient does not open them either (the rewritten id no longer matches the AAD);
// handset-side crypto is not what this bench measures.
//
// Resumption (docs/PROTOCOL.md, section 13), as the SDK does it: in a storm workload with
// --storm-auth ticket each handset asks for a ticket right after its first signed auth
// (set-up, before the connect counts as done), and its reconnects authenticate with the
// ticket and an HMAC over the new nonce; a ticket the gateway refuses (RESUME_REFUSED) is
// forgotten and the handset signs on the same connection. Unlike the SDK it asks for no
// new ticket after such a fallback: that would put ticket requests into the measured
// storm. Only where the challenge carries a resume_key (the gateway issues tickets).
//
// Writes are batched like the SDK does: all sends and deliver_acks of one event-loop
// turn go out as one frame. Frames are written and read by hand
// (bench/drivers/hushwire-frames.ts): the generator shares the cores with the gateways.
// The handshake's too (the challenge, the auth, its answer, a ticket), for the storm,
// where every device reconnects at once; a handshake frame of another shape (mail in
// the frame of the ok) goes through the generated decoder, and the ticket request
// (set-up, not measured) through the generated encoder.
import { wire, type Op } from '../../relay/wire.ts';
import { sealEnvelope } from '../../relay/crypto/seal.ts';
import { authInput, signer } from '../../relay/crypto/sign.ts';
import { ticketSecret } from '../../relay/crypto/resume.ts';
import { x25519KeyPair, x25519SharedSecret } from '../../relay/crypto/x25519.ts'; // libsodium's X25519
import '../../relay/crypto/native.ts'; // native Ed25519/X25519, not noble's JS
import { resumeProver, type Prover } from './resume-prover.ts';
import { bytesEqual } from '../../relay/bytes.ts';
import type { EndpointSpec, TargetSpec } from '../types.ts';
import { openClientSocket, type ClientSocket, type ClientSocketHandlers } from './client-socket.ts';
import { reportId, ID_BYTES, type Driver, type DriverContext, type Endpoint } from './driver.ts';
import {
  authFrameSize, clientFrameSize, fromOp, handshakeOpsOf, MAX_OPS_PER_FRAME, readHandshakeFrame, readServerFrame, splitClientFrames, writeAuthFrame, writeClientFrame,
  type AuthFields, type HandshakeOp, type OutSend, type Sealed, type ServerFrameSink,
} from './hushwire-frames.ts';

const POOL = 4;
/** Request ids of the connect's own ops (sends number from 1 on the ready connection). */
const REQ_AUTH = 1;
const REQ_SIGNED_AFTER_REFUSAL = 2;
const REQ_TICKET = 3;
const PLACEHOLDER_ID = new Uint8Array(ID_BYTES).fill(0xab);
/** A gateway's frame limit when its challenge gives none (its default). */
const DEFAULT_MAX_FRAME_BYTES = 262_144;
/** A short text, like an SMS: pads to the smallest bucket (256 bytes of plaintext). */
const BODY = new TextEncoder().encode('bench: the quick brown fox jumps over the lazy dog, 0123456789, ok?');

/** The thread's handsets read into this one buffer (the lean client's readBuffer): a
 *  server frame is a view into it until the next read, so what a handset keeps of one
 *  (the ids it acks on the next turn; the challenge's and ticket's fields, already
 *  copied for protobufjs's views) is copied. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Pre-sealed envelopes per flow, key = sender * 2^21 + recipient. */
const pools = new Map<number, Sealed[]>();
const flowKey = (sender: number, recipient: number): number => sender * 2_097_152 + recipient;

function sealPool(sender: EndpointSpec, recipient: EndpointSpec): Sealed[] {
  const s = sender.hw!;
  const r = recipient.hw!;
  const out: Sealed[] = [];
  for (let i = 0; i < POOL; i++) {
    const env = sealEnvelope({
      recipient: { route: r.route, device: r.device, prekey: r.prekeyPublic },
      sender: { route: s.route, device: s.device, identitySecret: s.identitySecret, identityPublic: s.identityPublic, number: s.number },
      body: BODY, seq: i, clientTs: Date.now(), id: PLACEHOLDER_ID,
    });
    const bytes = wire.Envelope.encode(env).finish();
    const idOffset = Buffer.from(bytes).indexOf(Buffer.from(PLACEHOLDER_ID));
    if (idOffset < 0) throw new Error('cannot find the envelope id in its encoding');
    out.push({ bytes, idOffset });
  }
  return out;
}

/** Size of one envelope as sent (what the peers carry too). */
export function envelopeBytes(sender: EndpointSpec, recipient: EndpointSpec): number {
  return sealPool(sender, recipient)[0]!.bytes.length;
}

/** Module-level, so that no closure is made per connect: tsx keeps function names, so
 *  every closure made costs a defineProperty (~0.25 µs; a connect through
 *  withDeadline and per-connect handlers made about a dozen). The Promise executor runs
 *  at once, so `captured` is read right after. */
const captured: { resolve: () => void; reject: (e: Error) => void } = { resolve: () => undefined, reject: () => undefined };
function capture(resolve: () => void, reject: (e: Error) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}

/** The connect's deadline (what withDeadline did): the promise fails, the socket goes. */
function connectTimedOut(h: Connect, ms: number): void {
  h.fail(new Error(`connect timed out after ${ms} ms`));
  h.ws?.terminate();
}

/** One connect: its handshake's state, and its socket's handlers (the object itself, so
 *  a late event of an older connection reaches that connection's object, not this one). */
class Connect implements ClientSocketHandlers {
  readonly ep: HwEndpoint;
  state: 'challenge' | 'auth' | 'resume' | 'ticket' | 'ready' = 'challenge';
  ws: ClientSocket | null = null;
  nonce: Uint8Array | null = null;
  resumeKey: Uint8Array | null = null;
  pendingSecret: Uint8Array | null = null;
  authReq = REQ_AUTH;
  resolve: () => void = noop;
  reject: (e: Error) => void = noop;
  timer: NodeJS.Timeout | undefined = undefined;
  #settled = false;

  constructor(ep: HwEndpoint) {
    this.ep = ep;
  }

  open(): void {}

  message(data: Buffer): void {
    if (this.state === 'ready') this.ep.onFrame(data);
    else this.ep.handshakeFrame(this, data);
  }

  close(code: number, _reason: string, error?: Error): void {
    this.ep.connectionClosed(this, code, error);
  }

  ready(): void {
    this.state = 'ready';
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.timer);
    this.resolve();
  }

  fail(e: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.timer);
    this.reject(e);
  }
}

const noop = (): void => undefined;

class HwEndpoint implements Endpoint {
  readonly #spec: EndpointSpec;
  readonly #ctx: DriverContext;
  readonly #sign: (msg: Uint8Array) => Uint8Array;
  #ws: ClientSocket | null = null;
  #req = 1;
  readonly #reqs = new Map<number, number>(); // req → seq (this endpoint is the sender)
  #sends: OutSend[] = [];
  #acks: Uint8Array[] = [];
  #scheduled = false;
  /** The gateway's largest accepted frame (its challenge's max_frame_bytes). */
  #maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  readonly #sink: ServerFrameSink;
  readonly #flushNow = (): void => this.#flush();
  /** A resumption ticket, when it expires (Date.now() ms), the resume_key it was issued
   *  under and its proofs (its secret's, bench/drivers/resume-prover.ts), in memory only. */
  #ticket: { ticket: Uint8Array; expiresAt: number; resumeKey: Uint8Array; prove: Prover } | null = null;

  constructor(spec: EndpointSpec, ctx: DriverContext) {
    this.#spec = spec;
    this.#ctx = ctx;
    // The expanded key, made once per device: each connect then only signs (~14 µs with
    // libsodium here; relay/crypto/ed25519-engine.ts). 10,000 storm devices per worker.
    this.#sign = signer(spec.hw!.identitySecret);
    const hooks = ctx.hooks;
    this.#sink = {
      delivered: (id) => {
        this.#acks.push(new Uint8Array(id)); // a copy (not Buffer#slice, a view): the frame is the next read's bytes (READ_BUFFER)
        reportId(id, 0, ctx.runTag, hooks, spec.idx);
      },
      sendResult: (req, ok, code) => this.#answered(req, ok, code),
      error: (req, code) => this.#answered(req, false, code),
    };
  }

  connect(timeoutMs: number): Promise<void> {
    this.#reqs.clear();
    this.#sends = [];
    this.#acks = [];
    const h = new Connect(this);
    const authed = new Promise<void>(capture);
    h.resolve = captured.resolve;
    h.reject = captured.reject;
    h.timer = setTimeout(connectTimedOut, timeoutMs, h, timeoutMs);
    let ws: ClientSocket;
    try {
      ws = openClientSocket(this.#ctx.wsClient, this.#spec.url, h, this.#spec.localAddress, READ_BUFFER);
    } catch (e) {
      this.#ws = null;
      h.fail(e as Error); // as a throw in the promise's executor did
      return authed;
    }
    h.ws = ws;
    this.#ws = ws;
    return authed;
  }

  /** A frame before the connect is ready: challenge → auth (signed) or resume (ticket) →
   *  [ticket: set-up asks for one] → ready. The handshake's frames are read by hand
   *  (readHandshakeFrame), others by the generated decoder; either way the whole frame
   *  is read before any op of it is acted on. */
  handshakeFrame(h: Connect, data: Buffer): void {
    const hw = this.#spec.hw!;
    const ctx = this.#ctx;
    let ops: HandshakeOp[];
    try {
      ops = readHandshakeFrame(data) ?? handshakeOpsOf(wire.Frame.decode(data).ops as Op[]);
    } catch (e) {
      h.fail(e as Error);
      return;
    }
    for (const op of ops) {
      const state = h.state;
      if (state === 'challenge' && op.challenge !== null) {
        // copies: the fields are views into the frame (the thread's read buffer), and
        // these are used on later frames (a signed auth after RESUME_REFUSED, the ticket
        // request); the resume_key of the ticket held, when the same, is that one
        const c = op.challenge;
        const nonce = new Uint8Array(c.nonce);
        h.nonce = nonce;
        this.#maxFrameBytes = c.maxFrameBytes || DEFAULT_MAX_FRAME_BYTES;
        if (this.#ticket !== null && this.#ticket.expiresAt <= Date.now()) this.#ticket = null;
        const t = this.#ticket;
        const sameKey = c.resumeKey.length > 0 && t !== null && bytesEqual(c.resumeKey, t.resumeKey);
        h.resumeKey = c.resumeKey.length === 0 ? null : sameKey ? t.resumeKey : new Uint8Array(c.resumeKey);
        if (ctx.tickets !== 'off' && h.resumeKey === null) ctx.auth.noResumeKey++;
        // Presented only where the challenge shows the resume_key it was issued under,
        // as the SDK does (client/resume.ts): elsewhere it could not open.
        if (t !== null && ctx.tickets !== 'off' && sameKey) {
          this.#writeAuth(h, REQ_AUTH, { route: hw.route, device: hw.device, ticket: t.ticket, proof: t.prove(nonce) });
          h.state = 'resume';
        } else {
          this.#signAuth(h, REQ_AUTH);
        }
      } else if (state === 'resume' && op.req === REQ_AUTH) {
        if (op.ok) {
          ctx.auth.resumed++;
          h.ready();
        } else if (op.error === 'RESUME_REFUSED') {
          // the connection stays in its challenge state, same nonce: sign on it
          ctx.auth.refused++;
          this.#ticket = null;
          this.#signAuth(h, REQ_SIGNED_AFTER_REFUSAL);
        } else {
          h.fail(new Error(`resume refused: ${op.error ?? 'unknown'}`));
        }
      } else if (state === 'auth' && op.req === h.authReq) {
        if (!op.ok) {
          h.fail(new Error(`auth refused: ${op.error ?? 'unknown'}`));
        } else {
          ctx.auth.signed++;
          if (ctx.tickets === 'request' && h.resumeKey !== null) {
            // the secret both ends derive (the gateway from its own key and ours)
            const e = x25519KeyPair();
            h.pendingSecret = ticketSecret(x25519SharedSecret(e.secretKey, h.resumeKey), hw.device, e.publicKey, h.resumeKey);
            h.ws!.send(wire.Frame.encode({ ops: [{ req: REQ_TICKET, ticketRequest: { publicKey: e.publicKey } }] }).finish());
            h.state = 'ticket';
          } else {
            h.ready();
          }
        }
      } else if (state === 'ticket' && op.req === REQ_TICKET) {
        if (op.ticket !== null && op.ticket.ticket.length > 0 && h.pendingSecret !== null) {
          this.#ticket = {
            ticket: new Uint8Array(op.ticket.ticket), expiresAt: Date.now() + op.ticket.expiresInS * 1000, resumeKey: h.resumeKey!,
            prove: resumeProver(h.pendingSecret, hw.route, hw.device),
          };
          ctx.auth.tickets++;
        } else {
          // not a failed connect: this handset signs in the storm (and the row says how many)
          ctx.auth.ticketErrors++;
          if (ctx.auth.ticketError === '') ctx.auth.ticketError = op.error || 'no ticket';
        }
        h.pendingSecret = null;
        h.ready();
      } else if (state === 'ready' || state === 'ticket') {
        // mail drained right after auth shares the frame with the ok
        if (op.op !== undefined) fromOp(op.op, this.#sink);
        else if (op.error !== null) this.#sink.error(op.req, op.error || 'error');
        this.#schedule();
      }
    }
  }

  /** The connection of `h` closed: before the connect was ready, a failed connect. */
  connectionClosed(h: Connect, code: number, error: Error | undefined): void {
    if (h.state !== 'ready') h.fail(error ?? new Error(`closed ${code} before auth`));
    // Closed by the gateway (or the network) while in use, not by this handset's own
    // terminate/close (which let go of it first): the run says so, since its sends from
    // then on go nowhere.
    else if (h.ws === this.#ws) this.#ctx.hooks.closed?.(this.#spec.idx, code);
  }

  #signAuth(h: Connect, req: number): void {
    const hw = this.#spec.hw!;
    const sig = this.#sign(authInput(h.nonce!, hw.route, hw.device));
    this.#writeAuth(h, req, { route: hw.route, device: hw.device, signature: sig });
    h.authReq = req;
    h.state = 'auth';
  }

  /** The auth op, written by hand straight into the WebSocket frame (the bytes of
   *  wire.Frame.encode: test/bench/hushwire-handshake.test.ts). */
  #writeAuth(h: Connect, req: number, fields: AuthFields): void {
    this.#authReq = req;
    this.#authFields = fields;
    h.ws!.sendWith(authFrameSize(req, fields), this.#writeAuthNow);
    this.#authFields = null;
  }

  #authReq = 0;
  #authFields: AuthFields | null = null;
  readonly #writeAuthNow = (out: Buffer, at: number): void => {
    writeAuthFrame(out, at, this.#authReq, this.#authFields!);
  };

  /** Frames once ready. */
  onFrame(data: Buffer): void {
    this.#onFrame(data);
  }

  #onFrame(data: Buffer): void {
    try {
      readServerFrame(data, this.#sink);
    } catch {
      // a frame the generated decoder would refuse too (a gateway never sends one): what
      // came before the bad bytes was heard, the rest is dropped
    }
    if (this.#acks.length > 0) this.#schedule();
  }

  #answered(req: number, ok: boolean, code: string): void {
    const seq = this.#reqs.get(req);
    if (seq === undefined) return;
    this.#reqs.delete(req);
    this.#ctx.hooks.ack(this.#spec.idx, seq, ok, code);
  }

  send(target: TargetSpec, seq: number): void {
    const req = this.#req++;
    if (this.#req > 0x7fffffff) this.#req = 1;
    this.#reqs.set(req, seq);
    const envelopes: Sealed[] = [];
    for (const r of target.recipients) envelopes.push(pools.get(flowKey(target.sender, r))![seq % POOL]!);
    this.#sends.push({ req, sender: target.sender, seq, envelopes });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flushNow);
  }

  #flush(): void {
    this.#scheduled = false;
    const ws = this.#ws;
    const sends = this.#sends;
    const acks = this.#acks;
    this.#sends = [];
    this.#acks = [];
    if (ws === null || !ws.isOpen || (sends.length === 0 && acks.length === 0)) return;
    const runTag = this.#ctx.runTag;
    const size = clientFrameSize(sends, acks);
    if (sends.length < MAX_OPS_PER_FRAME && size <= this.#maxFrameBytes) {
      ws.sendWith(size, (out, at) => writeClientFrame(out, at, sends, acks, runTag));
      return;
    }
    // Behind its schedule (a fixed rate the system cannot keep up with): a turn's sends
    // go in as many frames as the gateway's limits need, as the SDK's would.
    for (const part of splitClientFrames(sends, acks, this.#maxFrameBytes)) {
      ws.sendWith(clientFrameSize(part.sends, part.acks), (out, at) => writeClientFrame(out, at, part.sends, part.acks, runTag));
    }
  }

  terminate(): void {
    const ws = this.#ws;
    this.#ws = null; // first: its close is then not taken for the gateway's
    ws?.terminate();
  }

  close(): Promise<void> {
    const ws = this.#ws;
    this.#ws = null;
    return ws === null ? Promise.resolve() : ws.close();
  }
}

export const hushwireDriver: Driver = {
  hasAcks: true,
  prepare(ctx, targets) {
    for (const t of targets) {
      const s = ctx.specs.get(t.sender)!;
      for (const r of t.recipients) {
        if (!pools.has(flowKey(t.sender, r))) pools.set(flowKey(t.sender, r), sealPool(s, ctx.specs.get(r)!));
      }
    }
  },
  endpoint: (spec, ctx) => new HwEndpoint(spec, ctx),
};
