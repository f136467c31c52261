// relay/crypto/resume.ts (the secret and proof both ends compute, noble) and
// relay/resume-tickets.ts (the gateway's sealed tickets and proof check, node:crypto):
// an independent recomputation of each derivation with node:crypto (the resume
// verifier's on both), the record's verifier list, both ends agreeing
// through a real X25519 exchange, tickets opening only for the device, key and time they
// were sealed for, every single-bit change refused, rotation, and wrong types.
import t from 'tap';
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { x25519KeyPair, x25519SharedSecret } from '../../relay/crypto/x25519.ts';
import { ticketSecret, resumeProof, resumeProofInput, resumeVerifier, RESUME_SECRET_BYTES, MAX_RESUME_VERIFIERS } from '../../relay/crypto/resume.ts';
import {
  ResumeTickets, resumeProofMatches, resumeVerifierNode, hasResumeVerifier, withResumeVerifier, TICKET_BYTES, MAX_TICKET_TTL_S, TICKET_CLOCK_SKEW_S,
} from '../../relay/resume-tickets.ts';
import { HushwireError } from '../../relay/errors.ts';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

t.test('ticketSecret is HKDF-SHA256(shared, salt = empty, info = label 0x00 || device || device key || resume key)', async (t) => {
  for (let i = 0; i < 20; i++) {
    const [shared, device, pub, resumeKey] = [rnd(32), rnd(16), rnd(32), rnd(32)];
    const info = Buffer.concat([enc('hushwire resume secret v1'), Buffer.of(0), device, pub, resumeKey]);
    const expected = Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), info, 32));
    t.same(Buffer.from(ticketSecret(shared, device, pub, resumeKey)), expected);
  }
});

t.test('resumeProof is HMAC-SHA256(secret, label 0x00 || nonce || route || device)', async (t) => {
  for (let i = 0; i < 20; i++) {
    const [secret, nonce, route, device] = [rnd(32), rnd(32), rnd(32), rnd(16)];
    const input = Buffer.concat([enc('hushwire resume proof v1'), Buffer.of(0), nonce, route, device]);
    t.same(Buffer.from(resumeProofInput(nonce, route, device)), input);
    const expected = createHmac('sha256', secret).update(input).digest();
    const proof = resumeProof(secret, nonce, route, device);
    t.same(Buffer.from(proof), expected);
    t.ok(resumeProofMatches(secret, nonce, route, device, proof), 'the gateway accepts it');
  }
});

t.test('resumeVerifier (noble) and resumeVerifierNode are the first 16 bytes of SHA-256(label v2 0x00 || ticket || secret)', async (t) => {
  for (let i = 0; i < 20; i++) {
    const [ticket, secret] = [rnd(TICKET_BYTES), rnd(32)];
    const expected = createHash('sha256').update(Buffer.concat([enc('hushwire resume verifier v2'), Buffer.of(0), ticket, secret])).digest().subarray(0, 16);
    t.same(Buffer.from(resumeVerifier(ticket, secret)), expected);
    t.same(Buffer.from(resumeVerifierNode(ticket, secret)), expected);
    t.equal(resumeVerifier(ticket, secret).buffer.byteLength, 16, 'a copy of its own, not a view of the digest');
    t.notOk(expected.includes(Buffer.from(secret.subarray(0, 8))), 'no run of the secret in it');
    const v1 = createHash('sha256').update(Buffer.concat([enc('hushwire resume verifier v1'), Buffer.of(0), secret])).digest().subarray(0, 16);
    t.notSame(Buffer.from(resumeVerifier(ticket, secret)), v1, 'not the secret-only v1 verifier');
  }
  const ticket = rnd(TICKET_BYTES);
  for (const b of ['x'.repeat(32), rnd(31), rnd(33), null]) t.throws(() => (resumeVerifier as (a: unknown, b: unknown) => unknown)(ticket, b), HushwireError);
  for (const b of ['x'.repeat(69), new Uint8Array(0), rnd(1025), null]) t.throws(() => (resumeVerifier as (a: unknown, b: unknown) => unknown)(b, rnd(32)), HushwireError);
});

t.test('a verifier binds the whole ticket: the same secret sealed again (another expiry, IV or key) has another', async (t) => {
  const now = { ms: 1_700_000_000_000 };
  const key = rnd(32);
  const tickets = new ResumeTickets([key], 3600, () => now.ms);
  const [route, device, identity, secret] = [Buffer.from(rnd(16)).toString('hex'), Buffer.from(rnd(16)).toString('hex'), rnd(32), rnd(32)];
  const a = tickets.seal(route, device, identity, secret).ticket;
  const again = tickets.seal(route, device, identity, secret).ticket;
  now.ms += 60_000;
  const later = tickets.seal(route, device, identity, secret).ticket;
  const other = new ResumeTickets([rnd(32), key], 3600, () => now.ms).seal(route, device, identity, secret).ticket;
  const hex = (x: Uint8Array): string => Buffer.from(resumeVerifierNode(x, secret)).toString('hex');
  t.equal(new Set([hex(a), hex(again), hex(later), hex(other)]).size, 4, 'four verifiers');
  t.same(tickets.open(later, route, device, identity), secret, 'each opens with the same secret');
});

t.test('a record\'s verifiers: newest first, an equal one moved to the front, at most 4', async (t) => {
  const v = Array.from({ length: 6 }, () => rnd(16));
  let list: Uint8Array[] = [];
  for (const x of v) list = withResumeVerifier(list, x);
  t.equal(MAX_RESUME_VERIFIERS, 4);
  t.same(list.map((x) => Buffer.from(x)), [v[5], v[4], v[3], v[2]].map((x) => Buffer.from(x!)), 'the last 4, newest first');
  t.same(withResumeVerifier(list, v[3]!).map((x) => Buffer.from(x)), [v[3], v[5], v[4], v[2]].map((x) => Buffer.from(x!)), 'one already there moves to the front');
  t.same(withResumeVerifier(undefined, v[0]!).map((x) => Buffer.from(x)), [Buffer.from(v[0]!)], 'a record without any');
  t.ok(hasResumeVerifier(list, v[2]!.slice()));
  t.notOk(hasResumeVerifier(list, v[1]!), 'dropped');
  t.notOk(hasResumeVerifier([], v[5]!));
  t.notOk(hasResumeVerifier(undefined, v[5]!));
  t.notOk(hasResumeVerifier(list, v[5]!.subarray(0, 15)), 'a prefix is not a verifier');
});

t.test('both ends derive the same secret through X25519; the gateway checks the proof on a new nonce', async (t) => {
  const gateway = x25519KeyPair();
  const device = x25519KeyPair();
  const [route, dev, nonce2] = [rnd(32), rnd(16), rnd(32)];
  const kDevice = ticketSecret(x25519SharedSecret(device.secretKey, gateway.publicKey), dev, device.publicKey, gateway.publicKey);
  const kGateway = ticketSecret(x25519SharedSecret(gateway.secretKey, device.publicKey), dev, device.publicKey, gateway.publicKey);
  t.same(kDevice, kGateway);
  const proof = resumeProof(kDevice, nonce2, route, dev);
  t.ok(resumeProofMatches(kGateway, nonce2, route, dev, proof));
  t.notOk(resumeProofMatches(kGateway, rnd(32), route, dev, proof), 'not over another nonce (no replay)');
  t.notOk(resumeProofMatches(kGateway, nonce2, rnd(32), dev, proof), 'not for another route');
  t.notOk(resumeProofMatches(kGateway, nonce2, route, rnd(16), proof), 'not for another device');
  t.notOk(resumeProofMatches(rnd(32), nonce2, route, dev, proof), 'not with another secret');
  for (let bit = 0; bit < 256; bit += 7) {
    const p = proof.slice();
    p[bit >> 3]! ^= 1 << (bit & 7);
    t.notOk(resumeProofMatches(kGateway, nonce2, route, dev, p), `bit ${bit} flipped`);
  }
  t.notOk(resumeProofMatches(kGateway, nonce2, route, dev, proof.subarray(0, 31)), 'a short proof');
  t.notOk(resumeProofMatches(kGateway, nonce2, route, dev, new Uint8Array(0)), 'no proof');
});

t.test('wrong types and lengths are BAD_REQUEST / BAD_TOKEN errors, never library TypeErrors', async (t) => {
  const ok = [rnd(32), rnd(32), rnd(32), rnd(16)] as const;
  const bad: unknown[] = ['x'.repeat(32), Array(32).fill(0), rnd(31), rnd(33), null, undefined, 7];
  for (let i = 0; i < 4; i++) {
    for (const b of bad) {
      const args = [...ok] as unknown[];
      args[i] = b;
      t.throws(() => (resumeProof as (...a: unknown[]) => unknown)(...args), HushwireError);
    }
  }
  const okT = [rnd(32), rnd(16), rnd(32), rnd(32)] as const;
  for (let i = 0; i < 4; i++) {
    for (const b of bad) {
      const args = [...okT] as unknown[];
      args[i] = b;
      t.throws(() => (ticketSecret as (...a: unknown[]) => unknown)(...args), HushwireError);
    }
  }
});

function setup(now = { ms: 1_800_000_000_000 }) {
  const key = rnd(32);
  const tickets = new ResumeTickets([key], 3600, () => now.ms);
  const hex32 = (): string => Buffer.from(rnd(16)).toString('hex');
  const [route, device, identity, secret] = [hex32(), hex32(), rnd(32), rnd(32)];
  const sealed = tickets.seal(route, device, identity, secret);
  return { now, key, tickets, route, device, identity, secret, sealed };
}

t.test('a ticket opens for its device until it expires, and to nothing else', async (t) => {
  const s = setup();
  t.equal(s.sealed.ticket.length, TICKET_BYTES);
  t.equal(TICKET_BYTES, 69);
  t.equal(s.sealed.expiresInS, 3600);
  t.same(s.tickets.open(s.sealed.ticket, s.route, s.device, s.identity), s.secret);
  t.equal(s.tickets.open(s.sealed.ticket, Buffer.from(rnd(16)).toString('hex'), s.device, s.identity), null, 'another route');
  t.equal(s.tickets.open(s.sealed.ticket, s.route, Buffer.from(rnd(16)).toString('hex'), s.identity), null, 'another device');
  t.equal(s.tickets.open(s.sealed.ticket, s.route, s.device, rnd(32)), null, 'another identity key');
  t.equal(new ResumeTickets([rnd(32)], 3600, () => s.now.ms).open(s.sealed.ticket, s.route, s.device, s.identity), null, 'another ticket key');
  s.now.ms += 3599_000;
  t.same(s.tickets.open(s.sealed.ticket, s.route, s.device, s.identity), s.secret, 'a second before expiry');
  s.now.ms += 1000;
  t.equal(s.tickets.open(s.sealed.ticket, s.route, s.device, s.identity), null, 'expired');
});

t.test('a ticket sealed to live longer than the opening gateway\'s lifetime (plus the clock allowance) does not open', async (t) => {
  const s = setup();
  const clock = (): number => s.now.ms;
  const week = new ResumeTickets([s.key], MAX_TICKET_TTL_S, clock);
  const long = week.seal(s.route, s.device, s.identity, s.secret);
  t.same(week.open(long.ticket, s.route, s.device, s.identity), s.secret, 'opens where its lifetime is the gateway\'s');
  t.equal(s.tickets.open(long.ticket, s.route, s.device, s.identity), null, 'a 7-day ticket at a gateway whose lifetime is now an hour');
  t.same(week.open(s.sealed.ticket, s.route, s.device, s.identity), s.secret, 'a shorter one opens at a gateway with a longer lifetime');
  // The sealing gateway's clock ahead of this one's: within TICKET_CLOCK_SKEW_S it opens.
  const ahead = (byS: number) => new ResumeTickets([s.key], 3600, () => s.now.ms + byS * 1000).seal(s.route, s.device, s.identity, s.secret).ticket;
  t.same(s.tickets.open(ahead(TICKET_CLOCK_SKEW_S), s.route, s.device, s.identity), s.secret, 'sealed by a clock 5 minutes ahead');
  t.equal(s.tickets.open(ahead(TICKET_CLOCK_SKEW_S + 1), s.route, s.device, s.identity), null, 'sealed by a clock more than 5 minutes ahead');
});

t.test('every single-bit change of a ticket, and every truncation or extension, is refused', async (t) => {
  const s = setup();
  let refused = 0;
  for (let bit = 0; bit < TICKET_BYTES * 8; bit++) {
    const x = s.sealed.ticket.slice();
    x[bit >> 3]! ^= 1 << (bit & 7);
    if (s.tickets.open(x, s.route, s.device, s.identity) === null) refused++;
  }
  t.equal(refused, TICKET_BYTES * 8);
  for (const x of [s.sealed.ticket.subarray(0, TICKET_BYTES - 1), Buffer.concat([s.sealed.ticket, Buffer.of(0)]), new Uint8Array(0), new Uint8Array(TICKET_BYTES)]) {
    t.equal(s.tickets.open(x, s.route, s.device, s.identity), null);
  }
  t.equal(s.tickets.open('x'.repeat(69) as unknown as Uint8Array, s.route, s.device, s.identity), null, 'a string');
});

t.test('a ticket read at an offset of a larger buffer opens (frames hand out views)', async (t) => {
  const s = setup();
  const big = new Uint8Array(200);
  big.set(s.sealed.ticket, 50);
  t.same(s.tickets.open(big.subarray(50, 50 + TICKET_BYTES), s.route, s.device, s.identity), s.secret);
});

t.test('rotation: the first key seals, every listed key opens, a key taken out stops opening', async (t) => {
  const s = setup();
  const k2 = rnd(32);
  s.tickets.setKeys([k2, s.key]);
  t.equal(s.tickets.keyCount, 2);
  t.same(s.tickets.open(s.sealed.ticket, s.route, s.device, s.identity), s.secret, 'old ticket still opens');
  const newer = s.tickets.seal(s.route, s.device, s.identity, s.secret);
  t.same(new ResumeTickets([k2], 3600, () => s.now.ms).open(newer.ticket, s.route, s.device, s.identity), s.secret, 'sealed under the new key');
  s.tickets.setKeys([k2]);
  t.equal(s.tickets.open(s.sealed.ticket, s.route, s.device, s.identity), null, 'the old key is gone');
  t.same(s.tickets.open(newer.ticket, s.route, s.device, s.identity), s.secret);
  s.tickets.setKeys([k2, k2]);
  t.equal(s.tickets.keyCount, 1, 'one key listed twice is kept once');
});

t.test('two seals of one secret differ (random IV) and both open', async (t) => {
  const s = setup();
  const again = s.tickets.seal(s.route, s.device, s.identity, s.secret);
  t.notSame(Buffer.from(again.ticket), Buffer.from(s.sealed.ticket));
  t.same(s.tickets.open(again.ticket, s.route, s.device, s.identity), s.secret);
});

t.test('bad keys and lifetimes are refused at construction', async (t) => {
  t.throws(() => new ResumeTickets([], 60), /at least one/);
  t.throws(() => new ResumeTickets([rnd(31)], 60), /32 bytes/);
  for (const ttl of [0, -1, 1.5, MAX_TICKET_TTL_S + 1, Number.NaN]) t.throws(() => new ResumeTickets([rnd(32)], ttl), RangeError, `ttl ${ttl}`);
  t.doesNotThrow(() => new ResumeTickets([rnd(32)], MAX_TICKET_TTL_S));
  t.throws(() => new ResumeTickets([rnd(32)], 60).seal('a'.repeat(32), 'b'.repeat(32), rnd(32), rnd(RESUME_SECRET_BYTES - 1)), /32 bytes/);
});
