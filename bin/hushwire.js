#!/usr/bin/env node
// Launcher: registers tsx so the TypeScript sources run as they are (no build step),
// then hands over to cli/main.ts.
import { register } from 'tsx/esm/api';

register();
// `hushwire --help | head` closes the pipe early: that is not an error worth a trace.
// A command that listens for stdout errors itself (listen, which must first give back
// the message it could not print) handles them: this ends the process only when it is
// the one listener.
process.stdout.on('error', (e) => {
  if (e && e.code === 'EPIPE' && process.stdout.listenerCount('error') === 1) process.exit(process.exitCode ?? 0);
});
let code;
try {
  const { run } = await import(new URL('../cli/main.ts', import.meta.url).href);
  code = await run(process.argv);
} catch (e) {
  // Only reached when the program cannot even load: still one line, no trace.
  process.stderr.write(`hushwire: cannot start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)} (INTERNAL)\n`);
  if (process.env.HUSHWIRE_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  code = 1;
}
process.exitCode = code;
if (code !== 0) {
  // A failed command must not linger on a stray handle (a socket mid-close, a timer).
  setTimeout(() => process.exit(code), 1000).unref();
}
