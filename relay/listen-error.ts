// One wording for a listener that could not bind, for the gateway (--port,
// --admin-listen) and `hushwire oprf` (--port): the flag to change, where it tried, the
// system's code, and for a port in use what usually holds it. Two evaluators, or two
// gateways, started on one host with the default port is the common case: the second
// said only "listen EADDRINUSE: address already in use 127.0.0.1:8490".

/** `flag: could not listen on host:port: CODE`, with a hint when the port is in use.
 *  `other` names the likely holder ("another gateway"). */
export function listenError(flag: string, host: string, port: number, other: string, cause: unknown): Error {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  // uWebSockets.js gives no errno: its refusal says "address in use or not available".
  const inUse = code === 'EADDRINUSE' || /address in use/.test(message);
  const what = code ?? (inUse ? 'address in use or not available' : message);
  const hint = inUse ? ` (${other} on this host? give each its own ${flag}, or port 0 for any free one)` : '';
  return new Error(`${flag}: could not listen on ${where}: ${what}${hint}`, { cause });
}
