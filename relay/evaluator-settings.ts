// The gateway settings that choose where the OPRF key lives (gateway/config.ts holds
// the table; this checks the combination): a local key (file or value; an ephemeral
// one in the embedded default) or one or two remote `hushwire oprf` evaluators with
// their public keys pinned. Kept free of NATS and pools so the config stays light.
import { ristretto255 } from '@noble/curves/ed25519.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { checkEvaluatorId } from './oprf-wire.ts';

export interface EvaluatorSettings {
  oprfKeyFile?: string | undefined;
  oprfKey?: string | undefined;
  /** Evaluator ids (`--oprf-evaluator`, repeatable); empty = the key is local. */
  oprfEvaluator: string[];
  /** Their public keys as hex, same order (`--oprf-public-key`). */
  oprfPublicKey: string[];
  oprfTimeoutMs: number;
  nats: string[];
  natsPrefix: string;
  /** Prefix of the evaluator link's reply subjects (--nats-inbox-prefix; default _INBOX). */
  natsInboxPrefix?: string;
  name: string;
}

/** Why these settings cannot work, or null. gateway/config.ts turns it into a ConfigError. */
export function checkEvaluatorSettings(s: EvaluatorSettings): string | null {
  const ids = s.oprfEvaluator;
  if (ids.length === 0) {
    if (s.oprfPublicKey.length > 0) return '--oprf-public-key needs --oprf-evaluator (the key of each remote evaluator)';
    if (s.nats.length > 0 && !s.oprfKeyFile && !s.oprfKey) {
      return 'with --nats every gateway needs the same OPRF key: set --oprf-key-file (HUSHWIRE_OPRF_KEY_FILE) or --oprf-evaluator';
    }
    return null;
  }
  if (s.nats.length === 0) return '--oprf-evaluator needs --nats (evaluators are reached over NATS)';
  if (s.oprfKeyFile || s.oprfKey) return '--oprf-evaluator and --oprf-key-file/--oprf-key exclude each other: the key is either remote or local';
  if (ids.length > 2) return '--oprf-evaluator: one evaluator, or two holding a split key';
  for (const id of ids) {
    try {
      checkEvaluatorId(id);
    } catch {
      return '--oprf-evaluator: ids are 1-32 of a-z 0-9 _ - (starting with a letter or digit)';
    }
  }
  if (new Set(ids).size !== ids.length) return '--oprf-evaluator: the ids must differ';
  if (s.oprfPublicKey.length !== ids.length) {
    return '--oprf-public-key: pin one public key per --oprf-evaluator, in the same order (hushwire oprf-key public prints it)';
  }
  for (const k of s.oprfPublicKey) {
    try {
      if (!/^[0-9a-fA-F]{64}$/.test(k.trim())) throw new Error('not hex');
      const p = ristretto255.Point.fromBytes(hexToBytes(k.trim().toLowerCase()));
      if (p.is0()) throw new Error('identity');
    } catch {
      return '--oprf-public-key: each must be 64 hex characters encoding a valid ristretto255 element';
    }
  }
  if (ids.length === 2 && s.oprfPublicKey[0]!.toLowerCase() === s.oprfPublicKey[1]!.toLowerCase()) {
    return '--oprf-public-key: the two shares have the same key (a split key needs two different shares)';
  }
  return null;
}
