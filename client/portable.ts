// The SDK without Node (hushwire/client/portable): the same HushwireClient for browsers
// (PWA), React Native and Deno. Its module graph imports no `node:` module and not `ws`
// (test/client/portable-bundle.test.ts bundles it for the browser to prove it). The app
// supplies what Node's entry brings by itself (docs/CLIENT.md, "Using the SDK outside
// Node"): a ProfileStore for the profile (IndexedDbStore in a browser, MemoryStore for
// tests and ephemeral use), and, where globalThis.WebSocket is missing, a WHATWG
// WebSocket constructor (ClientOptions.WebSocket, RegisterOptions.WebSocket). Crypto is
// noble's pure JS; random bytes come from globalThis.crypto.getRandomValues.
export { HushwireClient, type ClientOptions, type Notice, type Profile, type SafetyNumber } from './client.ts';
export type { KeyChange, KeyChangePolicy, KeyStatus } from './keybook.ts';
export type { CallbackName, CallbackErrorHandler } from './app-callback.ts';
export type { ContactStatus } from './contacts.ts';
export type { RegisterOptions, RegisterResult, VerifyInfo } from './register.ts';
export type { ReceivedMessage, InboxStats, DropReason } from './inbox.ts';
export type { ResumeStats } from './resume.ts';
export { MAX_TEXT_BYTES, type SendResult, type SendReceipt, type ReceiptStatus } from './outgoing.ts';
export { MAX_TOLD_PREKEY_RETENTION_MS } from './prekeys.ts';
export type { ConnectionState, StateChange } from './connection-core.ts';
export {
  MemoryStore, PROFILE_RECORDS, SECRET_RECORDS, type ProfileStore, type ProfileRecord,
} from './store.ts';
export {
  IndexedDbStore, INDEXEDDB_TIMEOUT_MS, type IndexedDbStoreOptions, type IndexedDbFactory,
} from './indexeddb-store.ts';
export type { WebSocketConstructor, WebSocketLike } from './socket.ts';
export { HushwireError, isHushwireError, ErrorCode } from '../relay/errors.ts';
