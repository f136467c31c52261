// Why a native module did not load, as one short phrase for a start-up log line: shared
// by the gateway's WebSocket library choice (gateway/transport/select.ts) and the
// Ed25519 engine choice (relay/crypto/ed25519-engine.ts). The phrase never carries a
// path or a stack, only what an operator can act on (glibc, Node ABI, platform).

let glibcRuntime: string | undefined;
function glibc(): string {
  if (glibcRuntime === undefined) {
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    glibcRuntime = header?.glibcVersionRuntime ?? 'unknown';
  }
  return glibcRuntime;
}

/** One short, safe phrase for why a native module did not load. */
export function explainLoadFailure(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  const needGlibc = /GLIBC_([0-9.]+)' not found/.exec(msg);
  if (needGlibc) return `needs glibc >= ${needGlibc[1]}, this system has ${glibc()}`;
  if (/NODE_MODULE_VERSION/.test(msg)) return `built for another Node.js ABI than ${process.versions.modules}`;
  if (code === 'MODULE_NOT_FOUND' || /Cannot find module/.test(msg)) {
    return `no binary for ${process.platform}-${process.arch} Node.js ABI ${process.versions.modules}, or not installed`;
  }
  const last = msg.trim().split('\n').pop() ?? msg;
  return last.slice(0, 160);
}
