// The connection on Node: the portable state machine (client/connection-core.ts) with
// `ws` as its default transport (client/node.ts registers it).
import './node.ts';

export * from './connection-core.ts';
