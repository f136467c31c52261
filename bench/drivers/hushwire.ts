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
// turn go out as one frame. Once authenticated, frames are written and read by hand
// (bench/drivers/hushwire-frames.ts): the generator shares the cores with the gateways.
import { wire, type Op, type OpProps } from '../../relay/wire.ts';
import { sealEnvelope } from '../../relay/crypto/seal.ts';
import { authInput, signer } from '../../relay/crypto/sign.ts';
import { ticketSecret } from '../../relay/crypto/resume.ts';
import { x25519KeyPair, x25519SharedSecret } from '../../relay/crypto/x25519.ts'; // libsodium's X25519
import '../../relay/crypto/native.ts'; // native Ed25519/X25519, not noble's JS
import { resumeProofNode } from '../../relay/resume-tickets.ts';
import { bytesEqual } from '../../relay/bytes.ts';
import type { EndpointSpec, TargetSpec } from '../types.ts';
import { openClientSocket, type ClientSocket } from './client-socket.ts';
import { reportId, withDeadline, ID_BYTES, type Driver, type DriverContext, type Endpoint } from './driver.ts';
import { clientFrameSize, fromOp, MAX_OPS_PER_FRAME, readServerFrame, splitClientFrames, writeClientFrame, type OutSend, type Sealed, type ServerFrameSink } from './hushwire-frames.ts';

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
  /** A resumption ticket, its secret and when it expires (Date.now() ms), in memory only. */
  #ticket: { ticket: Uint8Array; secret: Uint8Array; expiresAt: number; resumeKey: Uint8Array } | null = null;

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
    const hw = this.#spec.hw!;
    const ctx = this.#ctx;
    this.#reqs.clear();
    this.#sends = [];
    this.#acks = [];
    let ws: ClientSocket | null = null;
    const authed = new Promise<void>((resolve, reject) => {
      // challenge → auth (signed) or resume (ticket) → [ticket: set-up asks for one] → ready
      let state: 'challenge' | 'auth' | 'resume' | 'ticket' | 'ready' = 'challenge';
      let nonce: Uint8Array | null = null;
      let resumeKey: Uint8Array | null = null;
      let pendingSecret: Uint8Array | null = null;
      let authReq = REQ_AUTH;
      const write = (op: OpProps): void => { ws!.send(wire.Frame.encode({ ops: [op] }).finish()); };
      const sign = (req: number): void => {
        const sig = this.#sign(authInput(nonce!, hw.route, hw.device));
        write({ req, auth: { route: hw.route, device: hw.device, signature: sig } });
        authReq = req;
        state = 'auth';
      };
      ws = openClientSocket(ctx.wsClient, this.#spec.url, {
        open: () => undefined,
        message: (data) => {
          if (state === 'ready') {
            this.#onFrame(data);
            return;
          }
          let ops: Op[];
          try {
            ops = wire.Frame.decode(data).ops as Op[];
          } catch (e) {
            reject(e as Error);
            return;
          }
          for (const op of ops) {
            if (state === 'challenge' && op.challenge) {
              // copies: the decoded fields are views into the frame's buffer, and these are
              // used on later frames (a signed auth after RESUME_REFUSED, the ticket request)
              nonce = new Uint8Array(op.challenge.nonce!);
              this.#maxFrameBytes = op.challenge.maxFrameBytes || DEFAULT_MAX_FRAME_BYTES;
              const key = op.challenge.resumeKey;
              resumeKey = key && key.length > 0 ? new Uint8Array(key) : null;
              if (ctx.tickets !== 'off' && resumeKey === null) ctx.auth.noResumeKey++;
              const t = this.#ticket;
              if (t !== null && t.expiresAt <= Date.now()) this.#ticket = null;
              // Presented only where the challenge shows the resume_key it was issued under,
              // as the SDK does (client/resume.ts): elsewhere it could not open.
              if (this.#ticket !== null && ctx.tickets !== 'off' && resumeKey !== null && bytesEqual(resumeKey, this.#ticket.resumeKey)) {
                const proof = resumeProofNode(this.#ticket.secret, nonce, hw.route, hw.device);
                write({ req: REQ_AUTH, auth: { route: hw.route, device: hw.device, ticket: this.#ticket.ticket, proof } });
                state = 'resume';
              } else {
                sign(REQ_AUTH);
              }
            } else if (state === 'resume' && op.req === REQ_AUTH) {
              if (op.ok) {
                ctx.auth.resumed++;
                state = 'ready';
                resolve();
              } else if (op.error?.code === 'RESUME_REFUSED') {
                // the connection stays in its challenge state, same nonce: sign on it
                ctx.auth.refused++;
                this.#ticket = null;
                sign(REQ_SIGNED_AFTER_REFUSAL);
              } else {
                reject(new Error(`resume refused: ${op.error?.code ?? 'unknown'}`));
              }
            } else if (state === 'auth' && op.req === authReq) {
              if (!op.ok) {
                reject(new Error(`auth refused: ${op.error?.code ?? 'unknown'}`));
              } else {
                ctx.auth.signed++;
                if (ctx.tickets === 'request' && resumeKey !== null) {
                  // the secret both ends derive (the gateway from its own key and ours)
                  const e = x25519KeyPair();
                  pendingSecret = ticketSecret(x25519SharedSecret(e.secretKey, resumeKey), hw.device, e.publicKey, resumeKey);
                  write({ req: REQ_TICKET, ticketRequest: { publicKey: e.publicKey } });
                  state = 'ticket';
                } else {
                  state = 'ready';
                  resolve();
                }
              }
            } else if (state === 'ticket' && op.req === REQ_TICKET) {
              if (op.ticket && op.ticket.ticket && op.ticket.ticket.length > 0 && pendingSecret !== null) {
                this.#ticket = { ticket: new Uint8Array(op.ticket.ticket), secret: pendingSecret, expiresAt: Date.now() + (op.ticket.expiresInS ?? 0) * 1000, resumeKey: resumeKey! };
                ctx.auth.tickets++;
              } else {
                // not a failed connect: this handset signs in the storm (and the row says how many)
                ctx.auth.ticketErrors++;
                if (ctx.auth.ticketError === '') ctx.auth.ticketError = op.error?.code || 'no ticket';
              }
              pendingSecret = null;
              state = 'ready';
              resolve();
            } else if (state === 'ready' || state === 'ticket') {
              // mail drained right after auth shares the frame with the ok
              fromOp(op, this.#sink);
              this.#schedule();
            }
          }
        },
        close: (code, _reason, error) => {
          if (state !== 'ready') reject(error ?? new Error(`closed ${code} before auth`));
          // Closed by the gateway (or the network) while in use, not by this handset's
          // own terminate/close (which let go of it first): the run says so, since its
          // sends from then on go nowhere.
          else if (ws === this.#ws) ctx.hooks.closed?.(this.#spec.idx, code);
        },
      }, this.#spec.localAddress, READ_BUFFER);
    });
    this.#ws = ws;
    return withDeadline(authed, timeoutMs, 'connect', () => ws?.terminate());
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
