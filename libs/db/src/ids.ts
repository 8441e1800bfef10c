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
