// The V8 heap flags a gateway is measured and documented with (docs/OPERATIONS.md, "Node
// runtime flags"): `npm start` and `npm run gateway` pass them, `npx hushwire gateway` or a
// plain `node bin/hushwire.js gateway` does not. Without --initial-old-space-size a small
// live heap beside the larger young generation can be collected in full every half second
// (~15 ms stalls at a low, steady load); without --max-semi-space-size the scavenger runs
// about twice as often. Not an error (the gateway works either way): the start says which
// are missing, once.

/** The flags, as `npm start` passes them. */
export const GATEWAY_HEAP_FLAGS: readonly string[] = ['--max-semi-space-size=32', '--initial-old-space-size=128'];

/**
 * Which of GATEWAY_HEAP_FLAGS' settings this process was started without (any value
 * counts as set: an operator's own choice is theirs). `execArgv`: process.execArgv (the
 * node flags before the script); `nodeOptions`: NODE_OPTIONS, which Node accepts
 * --max-semi-space-size from but not --initial-old-space-size.
 */
export function missingHeapFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)]
    .map((a) => a.replace(/_/g, '-').split('=')[0]!);
  return GATEWAY_HEAP_FLAGS.filter((f) => !given.includes(f.split('=')[0]!));
}
