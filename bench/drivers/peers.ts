// The peers' handsets, each through the client a user of that system would pick:
//   nats-ws    nats.js (@nats-io/nats-core wsconnect) to nats-server's own WebSocket
//              listener; core publish/subscribe, no acknowledgement, no storage.
//   mosquitto  mqtt.js over WebSocket, QoS 1 both ways (publish acknowledged by the
//              broker with PUBACK; the broker retries delivery until the subscriber's PUBACK).
//   socketio   socket.io-client (websocket transport only) to bench/peers/socketio-relay.ts;
//              the relay acknowledges a message once it forwarded it.
//   uws-relay  raw WebSocket (the lean client, or `ws` with --ws-client ws) to
//              bench/peers/uws-relay.ts, a bare uWebSockets.js relay: the
//              calibration row (issue 5 gives its reference machine's figure for one).
// Every message carries the same number of bytes as a Hushwire envelope; its first 16
// bytes are the message id (sender, sequence, run tag).
import WebSocket from 'ws';
import { wsconnect, type NatsConnection } from '@nats-io/nats-core';
import mqtt, { type MqttClient } from 'mqtt';
import { io, type Socket as IoSocket } from 'socket.io-client';
import type { EndpointSpec, TargetSpec } from '../types.ts';
import { openClientSocket, type ClientSocket } from './client-socket.ts';
import { reportId, writeId, withDeadline, type Driver, type DriverContext, type Endpoint } from './driver.ts';

/** The handset's source address, for a client library's options (only when set). */
const local = (spec: EndpointSpec): { localAddress?: string } => (spec.localAddress !== undefined ? { localAddress: spec.localAddress } : {});

function payload(ctx: DriverContext, sender: number, seq: number): Uint8Array {
  const buf = new Uint8Array(ctx.payloadBytes);
  writeId(buf, 0, sender, seq, ctx.runTag);
  return buf;
}

// ---- NATS over WebSocket ----

class NatsEndpoint implements Endpoint {
  readonly #spec: EndpointSpec;
  readonly #ctx: DriverContext;
  #nc: NatsConnection | null = null;
  #ws: WebSocket | null = null;

  constructor(spec: EndpointSpec, ctx: DriverContext) {
    this.#spec = spec;
    this.#ctx = ctx;
  }

  async connect(timeoutMs: number): Promise<void> {
    const nc = await withDeadline(wsconnect({
      servers: this.#spec.url,
      reconnect: false,
      noEcho: true,
      timeout: timeoutMs,
      wsFactory: async (u: string) => {
        const ws = new WebSocket(u, { perMessageDeflate: false, ...local(this.#spec) });
        this.#ws = ws;
        return { socket: ws as never, encrypted: false };
      },
    }), timeoutMs, 'connect', () => this.#ws?.terminate());
    this.#nc = nc;
    const { idx } = this.#spec;
    const onMsg = (err: Error | null, m: { data: Uint8Array }): void => {
      if (err !== null) return;
      reportId(m.data, 0, this.#ctx.runTag, this.#ctx.hooks, idx);
    };
    for (const s of [this.#spec.name, ...this.#spec.groups]) nc.subscribe(s, { callback: onMsg });
    await withDeadline(nc.flush(), timeoutMs, 'subscribe');
  }

  send(target: TargetSpec, seq: number): void {
    this.#nc?.publish(target.topic, payload(this.#ctx, target.sender, seq));
  }

  terminate(): void {
    this.#ws?.terminate();
    this.#ws = null;
    this.#nc = null;
  }

  async close(): Promise<void> {
    const nc = this.#nc;
    this.#nc = null;
    if (nc !== null) await withDeadline(nc.close(), 2000, 'close').catch(() => this.#ws?.terminate());
  }
}

// ---- MQTT (Mosquitto) ----

class MqttEndpoint implements Endpoint {
  readonly #spec: EndpointSpec;
  readonly #ctx: DriverContext;
  #c: MqttClient | null = null;

  constructor(spec: EndpointSpec, ctx: DriverContext) {
    this.#spec = spec;
    this.#ctx = ctx;
  }

  async connect(timeoutMs: number): Promise<void> {
    const c = mqtt.connect(this.#spec.url, {
      clientId: this.#spec.name,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      keepalive: 60,
      protocolVersion: 4,
      wsOptions: { perMessageDeflate: false, ...local(this.#spec) },
    });
    this.#c = c;
    c.on('error', () => undefined);
    await withDeadline(new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
      c.once('close', () => reject(new Error('closed before CONNACK')));
    }), timeoutMs, 'connect', () => c.end(true));
    const { idx } = this.#spec;
    c.on('message', (_topic: string, data: Buffer) => {
      reportId(data, 0, this.#ctx.runTag, this.#ctx.hooks, idx);
    });
    await withDeadline(c.subscribeAsync([this.#spec.name, ...this.#spec.groups], { qos: 1 }), timeoutMs, 'subscribe');
  }

  send(target: TargetSpec, seq: number): void {
    const c = this.#c;
    if (c === null) return;
    c.publish(target.topic, Buffer.from(payload(this.#ctx, target.sender, seq)), { qos: 1 }, (err) => {
      this.#ctx.hooks.ack(target.sender, seq, !err, err ? err.message.slice(0, 60) : '');
    });
  }

  terminate(): void {
    const c = this.#c;
    this.#c = null;
    if (c === null) return;
    (c.stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    c.end(true);
  }

  async close(): Promise<void> {
    const c = this.#c;
    this.#c = null;
    if (c !== null) await withDeadline(c.endAsync(), 2000, 'close').catch(() => c.end(true));
  }
}

// ---- Socket.IO ----

/** Base64 of an 18-byte head (16-byte id + 2 filler) is exactly 24 chars, no padding,
 *  so the head can be re-encoded per message and the tail encoded once. */
const HEAD_BYTES = 18;
const HEAD_CHARS = 24;

class IoEndpoint implements Endpoint {
  readonly #spec: EndpointSpec;
  readonly #ctx: DriverContext;
  readonly #tail: string;
  #s: IoSocket | null = null;

  constructor(spec: EndpointSpec, ctx: DriverContext) {
    this.#spec = spec;
    this.#ctx = ctx;
    this.#tail = Buffer.alloc(Math.max(0, ctx.payloadBytes - HEAD_BYTES)).toString('base64');
  }

  async connect(timeoutMs: number): Promise<void> {
    const s = io(this.#spec.url, {
      ...local(this.#spec),
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: timeoutMs,
      auth: { id: this.#spec.name, groups: this.#spec.groups },
    });
    this.#s = s;
    await withDeadline(new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('connect_error', reject);
    }), timeoutMs, 'connect', () => s.close());
    const { idx } = this.#spec;
    s.on('m', (data: unknown) => {
      if (typeof data !== 'string') return;
      reportId(Buffer.from(data.slice(0, HEAD_CHARS), 'base64'), 0, this.#ctx.runTag, this.#ctx.hooks, idx);
    });
  }

  send(target: TargetSpec, seq: number): void {
    const s = this.#s;
    if (s === null) return;
    const head = new Uint8Array(HEAD_BYTES);
    writeId(head, 0, target.sender, seq, this.#ctx.runTag);
    s.emit('m', target.topic, Buffer.from(head).toString('base64') + this.#tail, () => {
      this.#ctx.hooks.ack(target.sender, seq, true, '');
    });
  }

  terminate(): void {
    const s = this.#s;
    this.#s = null;
    s?.io.engine?.close();
    s?.close();
  }

  async close(): Promise<void> {
    const s = this.#s;
    this.#s = null;
    s?.close();
  }
}

// ---- bare uWS relay (calibration) ----

class UwsRelayEndpoint implements Endpoint {
  readonly #spec: EndpointSpec;
  readonly #ctx: DriverContext;
  #ws: ClientSocket | null = null;

  constructor(spec: EndpointSpec, ctx: DriverContext) {
    this.#spec = spec;
    this.#ctx = ctx;
  }

  async connect(timeoutMs: number): Promise<void> {
    const q = new URLSearchParams({ id: this.#spec.name, groups: this.#spec.groups.join(',') });
    const { idx } = this.#spec;
    let ws: ClientSocket | null = null;
    await withDeadline(new Promise<void>((resolve, reject) => {
      ws = openClientSocket(this.#ctx.wsClient, `${this.#spec.url}/?${q.toString()}`, {
        open: () => resolve(),
        message: (data) => {
          reportId(data, 0, this.#ctx.runTag, this.#ctx.hooks, idx);
        },
        close: (code, _reason, error) => reject(error ?? new Error(`closed ${code} before open`)),
      }, this.#spec.localAddress);
      this.#ws = ws;
    }), timeoutMs, 'connect', () => ws?.terminate());
  }

  send(target: TargetSpec, seq: number): void {
    const ws = this.#ws;
    if (ws === null || !ws.isOpen) return;
    // [n][topic][payload]: one message per frame, as a handset on such a relay would send.
    const topic = Buffer.from(target.topic, 'latin1');
    const frame = Buffer.allocUnsafe(1 + topic.length + this.#ctx.payloadBytes).fill(0);
    frame[0] = topic.length;
    topic.copy(frame, 1);
    writeId(frame, 1 + topic.length, target.sender, seq, this.#ctx.runTag);
    ws.send(frame);
  }

  terminate(): void {
    this.#ws?.terminate();
    this.#ws = null;
  }

  close(): Promise<void> {
    const ws = this.#ws;
    this.#ws = null;
    return ws === null ? Promise.resolve() : ws.close();
  }
}

export const natsWsDriver: Driver = { hasAcks: false, endpoint: (spec, ctx) => new NatsEndpoint(spec, ctx) };
export const mqttDriver: Driver = { hasAcks: true, endpoint: (spec, ctx) => new MqttEndpoint(spec, ctx) };
export const socketIoDriver: Driver = { hasAcks: true, endpoint: (spec, ctx) => new IoEndpoint(spec, ctx) };
export const uwsRelayDriver: Driver = { hasAcks: false, endpoint: (spec, ctx) => new UwsRelayEndpoint(spec, ctx) };
