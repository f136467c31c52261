// How NATS servers are named in log lines: "host:port" of each URL, never the user,
// password or token a URL may carry.
export function natsEndpoints(servers: string[]): string {
  return servers.map((s) => {
    const text = s.includes('://') ? s.trim() : `nats://${s.trim()}`;
    try {
      const u = new URL(text);
      return `${u.hostname}:${u.port === '' ? '4222' : u.port}`;
    } catch {
      return '(unparsable URL)';
    }
  }).join(',');
}

/** Why the NATS client cannot use `url`, or null. The client is @nats-io/transport-node:
 *  NATS over TCP (TLS when the server offers it; required with tls:// or a TLS file: see
 *  relay/nats-connect-options.ts, which also takes a URL's credentials out), which reads
 *  only host and port of nats:// and tls:// URLs (or a bare host:port) and refuses
 *  ws:// and wss:// (that is another transport); any other scheme it would take for NATS
 *  on that port and retry forever. The message names the scheme at most, never the URL
 *  (it may carry a password or token). */
export function natsUrlProblem(url: string): string | null {
  const text = url.trim();
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  const scheme = m ? m[1]!.toLowerCase() : null;
  if (scheme === 'ws' || scheme === 'wss') {
    return `${scheme}:// is not supported: Hushwire's NATS client speaks NATS over TCP (give the client port as nats://host:port or tls://host:port)`;
  }
  if (scheme !== null && scheme !== 'nats' && scheme !== 'tls') return `${scheme}:// is not a NATS URL (nats://host:port or tls://host:port)`;
  let u: URL;
  try {
    u = new URL(scheme === null ? `nats://${text}` : text);
  } catch {
    return 'not a valid URL (nats://host:port or tls://host:port)';
  }
  if (u.hostname === '') return 'no host (nats://host:port or tls://host:port)';
  return null;
}
