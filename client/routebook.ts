// routes.json in a profile directory (Node): the route book of client/routes.ts, kept
// by the directory store (0600, atomic replace, refused when open to other users: it
// holds contacts' numbers).
import { DirectoryStore } from './profile.ts';
import { readRouteBook, ROUTES_CAPACITY, type RouteBook } from './routes.ts';

export { ROUTES_FILE } from './profile-data.ts';
export { RouteBook, ROUTES_CAPACITY } from './routes.ts';

/** Loads routes.json for this pinned key; a missing, damaged or other-key file is an empty book. */
export async function loadRouteBook(dir: string, oprfPublicKey: Uint8Array, capacity = ROUTES_CAPACITY): Promise<RouteBook> {
  return readRouteBook(new DirectoryStore(dir), oprfPublicKey, capacity);
}
