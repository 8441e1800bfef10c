// uuid 11 on purpose: it is the last major that ships a CommonJS build beside the ESM one. uuid 12+
// is ESM only, which Node 20 can require() but jest (its own module loader, tests compiled to
// CommonJS by @swc/jest, node_modules left untransformed) cannot load.
import { v7 } from 'uuid';

/**
 * A new id for a row's primary key or unique index: a time-ordered UUID (version 7). Ids made later
 * sort after earlier ones (within one process, even in the same millisecond), so inserts append to
 * the right edge of a B-tree instead of landing on random pages as version 4 ids do.
 */
export function newId(): string {
  return v7();
}

/**
 * When a version 7 id was made (milliseconds since the epoch), or undefined for any other id. Only a
 * hint: a client can write any id, so nothing may be granted on it.
 */
export function idTime(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
