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
