// The SDK's public surface on Node (hushwire/client): what an application needs to
// register, send, receive and opt out. Internals (connection machinery, caches, profile
// record layout) stay private to the package; tools that need them use
// HushwireClient.lowLevel. The same API without Node (browsers, React Native, Deno) is
// client/portable.ts (hushwire/client/portable); this entry adds, through
// client/node.ts, `ws` as the default WebSocket, profile directories, and the native
// crypto engines.
import './node.ts';

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
export { MemoryStore, PROFILE_RECORDS, SECRET_RECORDS, type ProfileStore, type ProfileRecord } from './store.ts';
export { DirectoryStore } from './profile.ts';
export type { WebSocketConstructor, WebSocketLike } from './socket.ts';
export { HushwireError, isHushwireError, ErrorCode } from '../relay/errors.ts';
