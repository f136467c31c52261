// The handset's resumption rules (client/resume.ts) without I/O: when a ticket is
// presented, asked for, renewed, forgotten; the secret it derives is the gateway's;
// what a request's answer does after a forget; what the stats show (never a secret).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Resumption, RESUME_EXPIRY_MARGIN_MS, wipe } from '../../client/resume.ts';
import { x25519KeyPair, x25519SharedSecret } from '../../relay/crypto/engines.ts';
import { ticketSecret, resumeProof } from '../../relay/crypto/resume.ts';

const route = new Uint8Array(randomBytes(32));
const device = new Uint8Array(randomBytes(16));
const nonce = () => new Uint8Array(randomBytes(32));
const noKey = new Uint8Array(0);

function gateway() {
  const kp = x25519KeyPair();
  return {
    resumeKey: kp.publicKey,
    /** The gateway's side of the secret, from the device's public key. */
    secretFor: (devicePublicKey: Uint8Array) => ticketSecret(x25519SharedSecret(kp.secretKey, devicePublicKey), device, devicePublicKey, kp.publicKey),
  };
}

/** A Resumption on a clock the test moves, holding one ticket of `lifetimeS` seconds. */
function holding(lifetimeS: number) {
  let now = 1_000_000;
  const r = new Resumption(true, () => now);
  const gw = gateway();
  const ask = r.begin(gw.resumeKey, device)!;
  const ticket = new Uint8Array(randomBytes(69));
  t.ok(ask.accept({ ticket, expiresInS: lifetimeS }));
  return { r, gw, ticket, secret: gw.secretFor(ask.publicKey), advance: (ms: number) => { now += ms; } };
}

t.test('a ticket is asked for after a signed auth only where the gateway announced a resume key', async (t) => {
  const r = new Resumption(true);
  const gw = gateway();
  t.equal(r.wantsTicket(noKey, false), false, 'no resume key (an older gateway): no request');
  t.equal(r.wantsTicket(gw.resumeKey, false), true, 'resume key: request');
  t.equal(r.presentable(gw.resumeKey, nonce(), route, device), null, 'nothing held: sign');
  const off = new Resumption(false);
  t.equal(off.wantsTicket(gw.resumeKey, false), false, 'turned off: never asks');
  t.equal(off.begin(gw.resumeKey, device), null);
  t.equal(off.stats.requested, 0);
});

t.test('the secret is the one the gateway derives; the proof is over the new nonce', async (t) => {
  const { r, gw, ticket, secret } = holding(3600);
  const n = nonce();
  const p = r.presentable(gw.resumeKey, n, route, device)!;
  t.same(p.ticket, ticket, 'the ticket as received');
  t.same(p.proof, resumeProof(secret, n, route, device), 'HMAC over this nonce with the shared secret');
  const n2 = nonce();
  t.notSame(r.presentable(gw.resumeKey, n2, route, device)!.proof, p.proof, 'another nonce, another proof');
  t.equal(r.presentable(noKey, nonce(), route, device), null, 'not to a gateway without a resume key');
  t.same(r.stats, { resumed: 0, refused: 0, requested: 1, issued: 1, failed: 0, lastError: '', holding: true });
});

t.test('not presented within 60 s of its expiry: forgotten, and the signed auth asks again', async (t) => {
  const { r, gw, advance } = holding(3600);
  advance(3600_000 - RESUME_EXPIRY_MARGIN_MS - 1);
  t.not(r.presentable(gw.resumeKey, nonce(), route, device), null, 'just outside the margin: presented');
  advance(1);
  t.equal(r.presentable(gw.resumeKey, nonce(), route, device), null, 'at the margin: sign');
  t.equal(r.stats.holding, false, 'forgotten');
  t.equal(r.wantsTicket(gw.resumeKey, false), true);
});

t.test('after a resumed auth, renewed once less than a quarter of its lifetime is left', async (t) => {
  const { r, gw, advance } = holding(4000);
  t.equal(r.wantsTicket(gw.resumeKey, true), false, 'fresh: no renewal');
  advance(3000_000);
  t.equal(r.wantsTicket(gw.resumeKey, true), false, 'exactly a quarter left: not yet');
  advance(1);
  t.equal(r.wantsTicket(gw.resumeKey, true), true, 'less than a quarter left: renew');
  t.equal(r.wantsTicket(noKey, true), false, 'not at a gateway without a resume key');
  // The renewal replaces the ticket.
  const ask = r.begin(gw.resumeKey, device)!;
  const next = new Uint8Array(randomBytes(69));
  t.ok(ask.accept({ ticket: next, expiresInS: 4000 }));
  t.same(r.presentable(gw.resumeKey, nonce(), route, device)!.ticket, next);
  t.equal(r.wantsTicket(gw.resumeKey, true), false, 'renewed: fresh again');
});

t.test('RESUME_REFUSED forgets the ticket; the next signed auth asks again', async (t) => {
  const { r, gw } = holding(3600);
  r.noteRefused();
  t.equal(r.presentable(gw.resumeKey, nonce(), route, device), null);
  t.equal(r.stats.refused, 1);
  t.equal(r.stats.holding, false);
  t.equal(r.wantsTicket(gw.resumeKey, false), true);
});

t.test('an answer to a request begun before a forget or a disable is thrown away', async (t) => {
  const r = new Resumption(true);
  const gw = gateway();
  const ask = r.begin(gw.resumeKey, device)!;
  r.forget();
  t.equal(ask.accept({ ticket: new Uint8Array(69), expiresInS: 3600 }), false, 'forgotten meanwhile (an opt-out began)');
  t.equal(r.stats.holding, false);
  const ask2 = r.begin(gw.resumeKey, device)!;
  r.disable();
  t.equal(ask2.accept({ ticket: new Uint8Array(69), expiresInS: 3600 }), false, 'closed meanwhile');
  t.equal(r.stats.holding, false);
  t.equal(r.wantsTicket(gw.resumeKey, false), false, 'disabled: no more requests');
  t.equal(r.begin(gw.resumeKey, device), null);
});

t.test('failures are counted by code, an unusable answer too; the connect is not affected', async (t) => {
  const r = new Resumption(true);
  const gw = gateway();
  r.begin(gw.resumeKey, device)!.fail('UNAVAILABLE');
  t.equal(r.stats.failed, 1);
  t.equal(r.stats.lastError, 'UNAVAILABLE');
  t.equal(r.begin(gw.resumeKey, device)!.accept({ ticket: new Uint8Array(0), expiresInS: 3600 }), false, 'empty ticket');
  t.equal(r.begin(gw.resumeKey, device)!.accept({ ticket: new Uint8Array(69), expiresInS: 0 }), false, 'no lifetime');
  t.equal(r.stats.failed, 3);
  t.equal(r.stats.holding, false);
  // A low-order resume key (all zeros): the derivation fails, nothing is sent.
  t.equal(r.begin(new Uint8Array(32), device), null);
  t.equal(r.stats.failed, 4);
  t.equal(r.stats.requested, 3, 'that one was not sent');
  const ask = r.begin(gw.resumeKey, device)!;
  ask.fail('TIMEOUT');
  t.equal(ask.accept({ ticket: new Uint8Array(69), expiresInS: 3600 }), false, 'settled once');
});

t.test('stats carry no ticket or secret bytes', async (t) => {
  const { r } = holding(3600);
  const s = r.stats;
  t.same(Object.keys(s).sort(), ['failed', 'holding', 'issued', 'lastError', 'refused', 'requested', 'resumed']);
  for (const v of Object.values(s)) t.ok(typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string');
});

t.test('wipe zeroes a buffer of its own, never a view into a shared one', async (t) => {
  const own = new Uint8Array([1, 2, 3]);
  wipe(own);
  t.same([...own], [0, 0, 0]);
  const slab = new Uint8Array([1, 2, 3, 4]);
  wipe(slab.subarray(1, 3));
  t.same([...slab], [1, 2, 3, 4], 'a view is left alone');
});
