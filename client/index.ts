// The SDK's public surface: what an application needs to register, send, receive and
// opt out. Internals (connection machinery, caches, profile file layout) stay private
// to the package; tools that need them use HushwireClient.lowLevel.
export { HushwireClient, type ClientOptions, type Notice } from './client.ts';
export type { ContactStatus } from './contacts.ts';
export type { RegisterOptions, RegisterResult, VerifyInfo } from './register.ts';
export type { ReceivedMessage, InboxStats } from './inbox.ts';
export type { SendResult, SendReceipt, ReceiptStatus } from './outgoing.ts';
export type { ConnectionState, StateChange } from './connection.ts';
export { HushwireError, isHushwireError, ErrorCode } from '../relay/errors.ts';
