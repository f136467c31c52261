// Number verification during opt-in. The gateway makes a random code and holds the
// pending verification in the socket's own session (so no shared store ever holds a
// number, and gateways stay stateless); a Verifier only *delivers* the code to the
// number. The verifier is the only component that ever sees the number, and only for
// the length of one `deliver` call.

export interface Verifier {
  readonly kind: 'dev' | 'webhook';
  /** true for verifiers that prove nothing (the dev one): logged loudly at start. */
  readonly insecure: boolean;
  /** Sends `code` to `number`. Resolves with the code to hand back to the client when
   *  the verifier is the insecure dev one, otherwise undefined. Throws HushwireError
   *  UNAVAILABLE when the code could not be sent. */
  deliver(number: string, code: string): Promise<{ devCode?: string }>;
  close(): Promise<void>;
}
