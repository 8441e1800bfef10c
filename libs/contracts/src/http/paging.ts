import { z } from './zod';

/**
 * Query of a paged list: `limit` items, starting after `cursor` (the `nextCursor` of the previous
 * page; opaque to clients). Keyset paging: a page never repeats or skips an item while others are added.
 */
export const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().min(1).max(300).optional(),
  })
  .strict();
export type PageQuery = z.infer<typeof pageQuery>;

/** `nextCursor` of a page: null on the last one. */
export const nextCursor = z.string().nullable().openapi({ description: 'pass as `cursor` for the next page; null on the last page' });
