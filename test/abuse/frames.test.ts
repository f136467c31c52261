// Bad input at the frame level, on every transport that loads: hand-made protobuf
// (garbage, truncation, varint overflow, lengths past the frame end, deep nesting,
// unknown fields), WebSocket framing (text, UTF-8, size limit, floods of tiny
// fragments) and permessage-deflate. Each case has its expected close or error code,
// and after each the gateway still serves a well-behaved client.
//
// Already covered in test/gateway/protocol.test.ts (not repeated here): plain garbage
// bytes (4000), a text frame (1003), a frame over the limit (1009), an op of an unknown
// type or a server-only op (UNKNOWN_OP), a flood of bad ops (4008).
import t from 'tap';
import { connectRaw, type RawClient } from '../helpers/raw.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { registerRaw, stillServes, varint, type RawDevice } from '../helpers/raw-device.ts';
import { uwsAvailable } from '../../gateway/transport/select.ts';
import { CloseCode, ErrorCode } from '../../relay/errors.ts';
import { encodeFrame } from '../../relay/wire.ts';

const transports: ('uws' | 'ws')[] = (await uwsAvailable()) ? ['uws', 'ws'] : ['ws'];
const MAX_FRAME = 65_536;

/** A length-delimited field: tag (field, wire type 2), length, bytes. */
function ld(field: number, body: number[] | Uint8Array): number[] {
  return [...varint((field << 3) | 2), ...varint(body.length), ...body];
}

/** Sends bytes on a fresh socket and returns its close code. */
async function closeCodeFor(gw: TestGateway, bytes: Uint8Array): Promise<number> {
  const c = await connectRaw(gw.url);
  c.sendRaw(bytes);
  return (await c.closed).code;
}

/** A send through a ws socket that may have been closed by the server meanwhile. */
function sendQuiet(c: RawClient, data: Uint8Array, opts: { fin: boolean; binary?: boolean }): void {
  if (c.ws.readyState !== c.ws.OPEN) return;
  c.ws.send(data, { binary: opts.binary ?? true, fin: opts.fin, compress: false }, () => undefined);
}

for (const transport of transports) {
  t.test(`frame abuse on ${transport}`, async (t) => {
    const gw = await startTestGateway({ transport, maxFrameBytes: MAX_FRAME, maxEnvelopeBytes: 60_000, logLevel: 'warn' });
    t.teardown(() => gw.close());
    const { c: reg, dev } = await registerRaw(gw.url, '+15554440001');
    reg.close();
    const serves = (tt: Parameters<typeof stillServes>[0]) => stillServes(tt, gw.url, dev as RawDevice);
    // A valid op to build mutations from.
    const good = encodeFrame([{ req: 3, verifyStart: { number: '+15554440002' } }]);

    t.test('truncated protobuf closes 4000 at every cut', async (t) => {
      for (const cut of [1, 2, Math.floor(good.length / 2), good.length - 1]) {
        t.equal(await closeCodeFor(gw, good.subarray(0, cut)), CloseCode.BAD_FRAME, `cut at ${cut} of ${good.length}`);
      }
      await serves(t);
    });

    t.test('varint overflow closes 4000', async (t) => {
      // 11-byte varint as the length of Frame.ops (more than the 10 bytes any varint may have).
      const eleven = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
      t.equal(await closeCodeFor(gw, new Uint8Array([0x0a, ...eleven, 0x08, 0x01])), CloseCode.BAD_FRAME, 'length varint');
      // Inside a well-formed op: Op.req as an 11-byte varint.
      const op = [0x08, ...eleven];
      t.equal(await closeCodeFor(gw, new Uint8Array(ld(1, op))), CloseCode.BAD_FRAME, 'Op.req varint');
      // A 10-byte varint is legal protobuf (a 64-bit value); as a length it points far past the end.
      const ten = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
      t.equal(await closeCodeFor(gw, new Uint8Array([0x0a, ...ten, 0x08, 0x01])), CloseCode.BAD_FRAME, '10-byte length');
      // An unterminated varint at the very end of the frame.
      t.equal(await closeCodeFor(gw, new Uint8Array([0x0a, 0x04, 0x08, 0xff, 0xff, 0xff])), CloseCode.BAD_FRAME, 'unterminated');
      await serves(t);
    });

    t.test('declared lengths far past the frame end close 4000', async (t) => {
      for (const len of [MAX_FRAME * 2, 2 ** 31 - 1, 2 ** 32 - 1]) {
        t.equal(await closeCodeFor(gw, new Uint8Array([0x0a, ...varint(len), 0x08, 0x01])), CloseCode.BAD_FRAME, `Frame.ops length ${len}`);
      }
      // A nested one: VerifyStart.number says 1e9 bytes inside a correctly sized op.
      const vs = [0x0a, ...varint(1e9), 0x2b, 0x31];
      const op = [0x08, 0x03, ...ld(21, vs)];
      t.equal(await closeCodeFor(gw, new Uint8Array(ld(1, op))), CloseCode.BAD_FRAME, 'VerifyStart.number length 1e9');
      await serves(t);
    });

    t.test('deeply nested groups cannot overflow the stack: close 4000, process fine', async (t) => {
      // protobufjs skips unknown groups recursively; its Reader.recursionLimit stops it.
      // 30,000 nested start-group tags (field 15) then as many end-group tags: 60 kB.
      const depth = 30_000;
      const deep = new Uint8Array(depth * 2);
      deep.fill((15 << 3) | 3, 0, depth);
      deep.fill((15 << 3) | 4, depth);
      t.equal(await closeCodeFor(gw, deep), CloseCode.BAD_FRAME, 'nested groups at the top level');
      // The same inside an op.
      const inOp = new Uint8Array([...ld(1, [0x08, 0x05, ...Array(depth / 2).fill((99 << 3) | 3).flatMap((b: number) => varint(b)), ...Array(depth / 2).fill((99 << 3) | 4).flatMap((b: number) => varint(b))])]);
      t.ok(inOp.length < MAX_FRAME);
      t.equal(await closeCodeFor(gw, inOp), CloseCode.BAD_FRAME, 'nested groups inside an op');
      await serves(t);
    });

    t.test('deeply nested length-delimited unknown fields are skipped whole', async (t) => {
      // 2,000 levels of field 15 inside field 15: opaque bytes to the decoder (skipped by
      // length, never parsed), so the op next to them is served.
      let blob: number[] = [0x08, 0x01];
      for (let i = 0; i < 2000; i++) blob = ld(15, blob);
      const c = await connectRaw(gw.url);
      c.sendRaw(new Uint8Array([...blob, ...good]));
      t.equal((await c.reply(3)).body, 'verifyStarted', 'the op beside them is answered');
      c.close();
      await serves(t);
    });

    t.test('unknown fields are ignored; an op with only unknown fields gets UNKNOWN_OP', async (t) => {
      const c = await connectRaw(gw.url);
      // VerifyStart { number, field 50 = "x", field 51 varint } inside an Op with field 99 too,
      // and a Frame-level field 7: all unknown, all ignored.
      const vs = [...ld(1, [...Buffer.from('+15554440003')]), ...ld(50, [0x78]), ...varint((51 << 3) | 0), 0x2a];
      const op = [0x08, 0x04, ...varint((99 << 3) | 0), 0x01, ...ld(21, vs)];
      c.sendRaw(new Uint8Array([...ld(7, [1, 2, 3]), ...ld(1, op)]));
      t.equal((await c.reply(4)).body, 'verifyStarted', 'known op answered despite unknown fields');
      // Fixed-width unknown fields (wire types 1 and 5) too.
      const op2 = [0x08, 0x05, ...varint((98 << 3) | 1), 1, 2, 3, 4, 5, 6, 7, 8, ...varint((97 << 3) | 5), 1, 2, 3, 4];
      c.sendRaw(new Uint8Array(ld(1, op2)));
      t.equal((await c.reply(5)).error?.code, ErrorCode.UNKNOWN_OP, 'op whose body is unknown');
      t.equal(c.ws.readyState, c.ws.OPEN, 'socket stays open');
      // An illegal wire type (6) is not protobuf at all.
      c.sendRaw(new Uint8Array([...ld(1, [0x08, 0x06]), (20 << 3) | 6, 0x00]));
      t.equal((await c.closed).code, CloseCode.BAD_FRAME, 'wire type 6 closes 4000');
      await serves(t);
    });

    t.test('ops past the frame\'s op limit are refused unread: a malformed body there is BAD_REQUEST, not 4000', async (t) => {
      const { maxOpsPerFrame, maxBadOps } = gw.relay.limits;
      const c = await connectRaw(gw.url);
      await c.next((o) => o.body === 'challenge');
      // maxOpsPerFrame pings, then an op whose Lookup.route says 5 bytes in a 2-byte body.
      const pings = encodeFrame(Array.from({ length: maxOpsPerFrame }, (_, i) => ({ req: 1000 + i, ping: {} })));
      const bad = ld(1, [0x08, ...varint(5000), ...ld(24, [0x0a, 0x05])]);
      c.sendRaw(new Uint8Array([...pings, ...bad]));
      t.equal((await c.reply(5000)).error?.code, ErrorCode.BAD_REQUEST, 'the op past the limit: BAD_REQUEST');
      t.equal(c.ops.filter((o) => o.req >= 1000 && o.req < 5000 && o.body === 'ok').length, maxOpsPerFrame, 'the pings before it are answered');
      c.send([{ req: 6000, ping: {} }]);
      t.equal((await c.reply(6000)).body, 'ok', 'the socket stays open');
      // A frame of 20,000 empty ops: the op limit's worth run, maxBadOps + 1 are refused,
      // then 4008 (the rest are only checked to be protobuf).
      const many = new Uint8Array(40_000);
      for (let i = 0; i < many.length; i += 2) many[i] = 0x0a;
      const flood = await connectRaw(gw.url);
      await flood.next((o) => o.body === 'challenge');
      flood.sendRaw(many);
      t.equal((await flood.closed).code, CloseCode.FLOOD, '20,000 empty ops: 4008');
      t.ok(flood.ops.filter((o) => o.error?.code === ErrorCode.BAD_REQUEST).length <= maxBadOps + 1, 'at most maxBadOps + 1 refused');
      c.close();
      await serves(t);
    });

    t.test('a frame of exactly the limit is accepted; one byte more closes 1009', async (t) => {
      const pad = (n: number) => {
        // Frame field 15 (unknown) of a size that makes the whole frame n bytes.
        for (let body = n - good.length - 4; body > 0; body--) {
          const f = [...ld(15, new Uint8Array(body)), ...good];
          if (f.length === n) return new Uint8Array(f);
        }
        throw new Error('cannot pad');
      };
      const c = await connectRaw(gw.url);
      c.sendRaw(pad(MAX_FRAME));
      t.equal((await c.reply(3)).body, 'verifyStarted', `${MAX_FRAME} bytes accepted`);
      c.close();
      t.equal(await closeCodeFor(gw, pad(MAX_FRAME + 1)), CloseCode.TOO_LARGE, `${MAX_FRAME + 1} bytes close 1009`);
      await serves(t);
    });

    t.test('text frames close 1003 even after authentication; invalid UTF-8 closes 1007', async (t) => {
      const { c: authed } = await registerRaw(gw.url, '+15554440004');
      authed.sendRaw('', false);
      t.equal((await authed.closed).code, CloseCode.UNSUPPORTED_DATA, 'empty text frame on an authenticated socket');
      const c = await connectRaw(gw.url);
      // ws lets us send raw bytes as a text frame; 0xff is never valid UTF-8.
      c.ws.send(Buffer.from([0xff, 0xfe]), { binary: false });
      // uWS checks UTF-8 itself and drops the connection without a close frame (the client
      // sees 1006; the gateway records 1007); ws sends the 1007 close frame.
      t.equal((await c.closed).code, transport === 'uws' ? 1006 : 1007, 'invalid UTF-8 in a text frame');
      await serves(t);
    });

    t.test('a frame split into 1-byte fragments is reassembled and served', async (t) => {
      const c = await connectRaw(gw.url);
      for (let i = 0; i < good.length; i++) sendQuiet(c, good.subarray(i, i + 1), { fin: i === good.length - 1 });
      t.equal((await c.reply(3)).body, 'verifyStarted');
      c.close();
      await serves(t);
    });

    t.test('a flood of 10,000 empty fragments costs nothing and the message still counts', async (t) => {
      const c = await connectRaw(gw.url);
      sendQuiet(c, good.subarray(0, 1), { fin: false });
      const empty = new Uint8Array(0);
      for (let i = 0; i < 10_000; i++) sendQuiet(c, empty, { fin: false });
      sendQuiet(c, good.subarray(1), { fin: true });
      t.equal((await c.reply(3, 20_000)).body, 'verifyStarted');
      c.close();
      await serves(t);
    });

    t.test('more fragments than ws allows (16,384) in one message', async (t) => {
      // ws bounds the count of fragments per message (maxFragments) and closes 1008; uWS
      // has no count limit, and empty fragments add nothing to the message (its size
      // is what is bounded, next test), so the message is served there.
      const c = await connectRaw(gw.url);
      sendQuiet(c, good.subarray(0, 1), { fin: false });
      for (let i = 0; i < 20_000; i++) sendQuiet(c, new Uint8Array(0), { fin: false });
      sendQuiet(c, good.subarray(1), { fin: true });
      if (transport === 'ws') {
        t.equal((await c.closed).code, CloseCode.POLICY, 'ws: 1008');
      } else {
        t.equal((await c.reply(3, 20_000)).body, 'verifyStarted', 'uws: served');
        c.close();
      }
      await serves(t);
    });

    t.test('fragments are bounded by the frame limit in total: 1009', async (t) => {
      // 1-kB fragments adding up to 1.5x the limit; none is large on its own.
      const c = await connectRaw(gw.url);
      const chunk = new Uint8Array(1024);
      for (let sent = 0; sent < MAX_FRAME * 1.5; sent += chunk.length) sendQuiet(c, chunk, { fin: false });
      sendQuiet(c, chunk, { fin: true });
      t.equal((await c.closed).code, CloseCode.TOO_LARGE);
      await serves(t);
    });

    t.test('permessage-deflate offered is declined', async (t) => {
      const c = await connectRaw(gw.url, { perMessageDeflate: true });
      t.equal(c.ws.extensions, '', 'no extension in the handshake response');
      c.send([{ req: 3, verifyStart: { number: '+15554440005' } }]);
      t.equal((await c.reply(3)).body, 'verifyStarted', 'and the socket works uncompressed');
      c.close();
      await serves(t);
    });

    t.test('nothing went wrong inside the gateway', async (t) => {
      t.notMatch(gw.logs(), /"level":(50|60)/, 'no error or fatal log line');
    });
  });
}
