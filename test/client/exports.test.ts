// The SDK's public surface as an application imports it: the package's "./client"
// export (docs/CLIENT.md), through Node's package self-reference.
import t from 'tap';

t.test('hushwire/client exports the documented surface and nothing internal', async (t) => {
  const sdk = (await import('hushwire/client')) as Record<string, unknown>;
  t.same(Object.keys(sdk).sort(), ['DirectoryStore', 'ErrorCode', 'HushwireClient', 'HushwireError', 'MAX_TEXT_BYTES', 'MAX_TOLD_PREKEY_RETENTION_MS', 'MemoryStore', 'PROFILE_RECORDS', 'SECRET_RECORDS', 'isHushwireError']);
  t.same(sdk.PROFILE_RECORDS, ['device.json', 'gateways.json', 'state.json', 'routes.json', 'keys.json', 'pending-device.json']);
  t.same(sdk.SECRET_RECORDS, ['device.json', 'pending-device.json']);
  t.equal(sdk.MAX_TEXT_BYTES, 65_341);
  t.equal(sdk.MAX_TOLD_PREKEY_RETENTION_MS, 400 * 86_400_000);
  const { HushwireClient } = sdk as { HushwireClient: Record<string, unknown> };
  for (const m of ['register', 'open']) t.type(HushwireClient[m], 'function', `HushwireClient.${m}`);
  const proto = (HushwireClient as unknown as { prototype: Record<string, unknown> }).prototype;
  for (const m of ['connect', 'send', 'messages', 'discover', 'unregister', 'close']) t.type(proto[m], 'function', m);
  t.equal((sdk.ErrorCode as Record<string, string>).NOT_REGISTERED, 'NOT_REGISTERED');
});

t.test('internals are not importable through the package', async (t) => {
  const internal: string = 'hushwire/client/connection.ts'; // a variable: tsc need not resolve it
  await t.rejects(import(internal), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});

t.test('hushwire/client/portable exports the same client, the stores apps build on, and nothing Node', async (t) => {
  const sdk = (await import('hushwire/client/portable')) as Record<string, unknown>;
  t.same(Object.keys(sdk).sort(), ['ErrorCode', 'HushwireClient', 'HushwireError', 'INDEXEDDB_TIMEOUT_MS', 'IndexedDbStore', 'MAX_TEXT_BYTES', 'MAX_TOLD_PREKEY_RETENTION_MS', 'MemoryStore', 'PROFILE_RECORDS', 'SECRET_RECORDS', 'isHushwireError']);
  const node = (await import('hushwire/client')) as Record<string, unknown>;
  t.equal(sdk.HushwireClient, node.HushwireClient, 'one class: a Node app may import both');
  t.same(sdk.PROFILE_RECORDS, ['device.json', 'gateways.json', 'state.json', 'routes.json', 'keys.json', 'pending-device.json']);
  t.same(sdk.SECRET_RECORDS, ['device.json', 'pending-device.json']);
  t.equal(sdk.PROFILE_RECORDS, node.PROFILE_RECORDS);
});
