// The OPRF evaluator: the only holder of the OPRF key. Gateways call it to evaluate
// blinded numbers for discovery and to compute the route of a number that just passed
// opt-in verification. `LocalEvaluator` runs in-process (single node and, for now, NATS
// mode with a key file shared by the gateways).
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hexToBytes } from '@noble/hashes/utils.js';
import { deriveServerKey, evaluateBlinded, serverRouteForNumber } from './crypto/oprf.ts';
import { HushwireError, ErrorCode } from './errors.ts';

export interface Evaluator {
  /** VOPRF public key (ristretto255, 32 bytes) that handsets pin. */
  readonly publicKey: Uint8Array;
  evaluate(blinded: Uint8Array[]): Promise<{ evaluated: Uint8Array[]; proof: Uint8Array }>;
  /** route for a verified number (server-side evaluation of the same function). */
  routeForNumber(e164: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export class LocalEvaluator implements Evaluator {
  readonly publicKey: Uint8Array;
  #key: { secretKey: Uint8Array; publicKey: Uint8Array };

  constructor(seed: Uint8Array) {
    if (!(seed instanceof Uint8Array) || seed.length !== 32) {
      throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF key seed must be 32 bytes');
    }
    this.#key = deriveServerKey(seed);
    this.publicKey = this.#key.publicKey;
  }

  async evaluate(blinded: Uint8Array[]) {
    return evaluateBlinded(this.#key, blinded);
  }

  async routeForNumber(e164: string) {
    return serverRouteForNumber(this.#key, e164);
  }

  async close() {}
}

/** Reads a 32-byte seed as 64 hex chars from a file (whitespace ignored) or a string. */
export function parseOprfSeed(text: string): Uint8Array {
  const hex = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new HushwireError(ErrorCode.BAD_REQUEST, 'OPRF key must be 64 hex characters (32 bytes)');
  }
  return hexToBytes(hex);
}

export function loadOprfSeed(opts: { file?: string; hex?: string }): { seed: Uint8Array; ephemeral: boolean } {
  if (opts.hex) return { seed: parseOprfSeed(opts.hex), ephemeral: false };
  if (opts.file) return { seed: parseOprfSeed(readFileSync(opts.file, 'utf8')), ephemeral: false };
  return { seed: new Uint8Array(randomBytes(32)), ephemeral: true };
}
