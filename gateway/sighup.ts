// SIGHUP for `hushwire gateway` and `hushwire oprf`. Node's default for it ends the
// process at once: a terminal hang-up, a `kill -HUP` sent out of nats-server habit, or a
// systemd ExecReload would drop every connected device without the drain. Instead the
// process keeps running and says so in one line; nothing is reloaded (settings are read
// at start), except that the NATS TLS and credential files, read again at each NATS
// connect anyway (relay/nats-access-files.ts), are read now: a replaced file is
// reported at once ("... changed; NATS connects use its new contents", or why it
// cannot be used) instead of at the next reconnect.
import type { Logger } from '../relay/log.ts';
import type { NatsAccess } from '../relay/nats-connect-options.ts';

/** Handles SIGHUP as above until the returned function is called (idempotent). */
export function keepRunningOnSighup(log: Logger, stopHow: string, access?: NatsAccess): () => void {
  const onHup = (): void => {
    // Files only where some were given (a TLS CA, certificate, or credentials file).
    const files = access !== undefined && (access.tls !== undefined || (access.authBy !== undefined && access.authBy !== '--nats')) ? access.files : undefined;
    log.info(files
      ? `SIGHUP: still running (${stopHow}); settings are read only at start, but the NATS TLS and credential files are read at each NATS connect, and again now`
      : `SIGHUP: still running (${stopHow}); settings are read only at start: restart to change them`);
    if (files) {
      files.refreshAll();
      files.checkExpiry();
    }
  };
  process.on('SIGHUP', onHup);
  return () => { process.removeListener('SIGHUP', onHup); };
}
