// How many connections this process's open-files limit can hold, so a gateway never
// takes more than it can (gateway/server.ts lowers --max-connections to it).
//
// Why: every WebSocket is a file descriptor. Past the limit, accept() fails with EMFILE:
// uWebSockets.js then leaves the connection in the listen backlog, the listen socket
// stays readable and the event loop spins at a full core while those clients hang
// (measured: 272 of 400 upgrades answered, 128 never, one core busy until they gave up);
// Node's net server (the ws transport) resets them. Neither is the clean "gateway full"
// (HTTP 503) a handset or a load balancer knows to retry elsewhere. With the limit known
// at start, the connections over it are refused at the upgrade like on any full gateway.
//
// Node raises its own soft limit to the hard one when it starts (PlatformInit), so what
// counts is the hard limit: systemd's default is 524,288 (LimitNOFILE), a login shell's
// often 1,024 or 4,096 (`ulimit -Hn`), below the default --max-connections of 50,000.
// Raising a hard limit needs privilege; the gateway says what to change instead.
import { readFileSync } from 'node:fs';

export interface OpenFilesLimit {
  /** null: unlimited. */
  soft: number | null;
  hard: number | null;
}

/** Parses /proc/<pid>/limits; null when the line is not there (not Linux). */
export function parseOpenFilesLimit(limitsText: string): OpenFilesLimit | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)\s/m.exec(limitsText);
  if (!m) return null;
  const v = (s: string): number | null => (s === 'unlimited' ? null : Number(s));
  return { soft: v(m[1]!), hard: v(m[2]!) };
}

/** This process's limit; null where /proc does not say (not Linux). */
export function readOpenFilesLimit(pid: number | 'self' = 'self'): OpenFilesLimit | null {
  try {
    return parseOpenFilesLimit(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  } catch {
    return null;
  }
}

/** Descriptors kept for everything that is not a device connection: NATS connections,
 *  the listen socket, files, and the short-lived accepts of refused upgrades (each needs
 *  a descriptor for its 503). A tenth of the limit, at least 64, at most 1,024. */
export function reservedDescriptors(soft: number): number {
  return Math.min(1024, Math.max(64, Math.floor(soft / 10)));
}

/** The open-files limit that holds `connections` device sockets plus the reserve. */
export function descriptorsFor(connections: number): number {
  return connections + 1024; // the reserve is at most 1,024
}

/** How many connections a soft limit holds (never below 1; null = unlimited). */
export function connectionsWithin(soft: number | null): number {
  if (soft === null) return Number.MAX_SAFE_INTEGER;
  return Math.max(1, soft - reservedDescriptors(soft));
}
