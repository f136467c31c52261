// The peers' URL flags (--nats-ws-url, --mqtt-url, --socketio-url, --uws-relay-url) are
// checked before anything starts: a value that is no URL of a scheme the peer's client
// speaks, or a URL for a peer --peers leaves out, is a usage error naming the flag
// (exit 2), not a run whose every connection fails ("notaurl" read as "connection
// refused") or a flag silently ignored.
import t from 'tap';
import { runBench as bench } from '../helpers/bench-cli.ts';

t.test('a peer URL that is not a URL of its scheme: exit 2 naming the flag, nothing started', async (t) => {
  for (const [flag, peer, value, why] of [
    ['--nats-ws-url', 'nats-ws', 'notaurl', /not a URL: "notaurl" \(a ws:\/\/ or wss:\/\/ URL\)/],
    ['--nats-ws-url', 'nats-ws', 'nats://127.0.0.1:4222', /a ws:\/\/ or wss:\/\/ URL with a host, not "nats:\/\/127\.0\.0\.1:4222"/],
    ['--mqtt-url', 'mosquitto', 'http://127.0.0.1:1', /a ws:\/\/ or wss:\/\/ URL with a host/],
    ['--socketio-url', 'socketio', 'ftp://127.0.0.1/x', /a http:\/\/ or https:\/\/ or ws:\/\/ or wss:\/\/ URL with a host/],
    ['--uws-relay-url', 'uws-relay', '127.0.0.1:9001', /not a URL: "127\.0\.0\.1:9001"/],
  ] as const) {
    const r = await bench(['--no-hushwire', '--peers', peer, flag, value, '--duration', '1', '--warmup', '1', '--grace', '1', '--pairs', '1']);
    t.equal(r.code, 2, `${flag} ${value}: exit 2`);
    t.match(r.stderr, new RegExp(`^hushwire: option '${flag} <url>' argument .* is invalid\\. ${why.source}`, 'm'), `${flag} ${value}: why, naming the flag`);
    t.notMatch(r.stderr, /setting up|connections failed/, `${flag} ${value}: nothing started`);
  }
});

t.test('a peer URL for a peer that does not run is refused, not ignored', async (t) => {
  const r = await bench(['--peers', 'socketio', '--nats-ws-url', 'ws://127.0.0.1:1', '--duration', '1', '--pairs', '1']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^hushwire: --nats-ws-url is for the nats-ws peer, which --peers leaves out \(--peers socketio\)/m);
  t.notMatch(r.stderr, /setting up/);
  const none = await bench(['--peers', 'none', '--uws-relay-url', 'ws://127.0.0.1:1', '--duration', '1', '--pairs', '1']);
  t.equal(none.code, 2);
  t.match(none.stderr, /--uws-relay-url is for the uws-relay peer, which --peers leaves out \(--peers none\)/);
});

t.test('URLs of the schemes each client speaks pass (the run then stops at the next usage error)', async (t) => {
  for (const [flag, peer, value] of [
    ['--nats-ws-url', 'nats-ws', 'ws://127.0.0.1:1'],
    ['--mqtt-url', 'mosquitto', 'wss://127.0.0.1:1/mqtt'],
    ['--socketio-url', 'socketio', 'http://127.0.0.1:1'],
    ['--socketio-url', 'socketio', 'ws://127.0.0.1:1'],
    ['--uws-relay-url', 'uws-relay', 'ws://[::1]:1'],
  ] as const) {
    const r = await bench(['--no-hushwire', '--peers', peer, flag, value, '--workload', '']);
    t.equal(r.code, 2, `${flag} ${value}`);
    t.match(r.stderr, /no workload to run/, `${flag} ${value}: accepted`);
  }
});
