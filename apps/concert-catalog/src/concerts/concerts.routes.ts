import { createConcertRequest, pageQuery, type ConcertListResponse, type CreateConcertResponse } from '@ticketing/contracts';
import { CURSOR_PARTS, decodeCursor, encodeCursor, parseOrThrow } from '@ticketing/http';
import { Router } from 'express';
import { requireAdmin } from '../access/require-admin';
import type { ConcertRepository } from './concert.repository';
import { createCreateConcertHandler } from './create-concert.handler';

/** `GET /api/v1/concerts?limit&cursor` (public, oldest first, paged) and `POST /api/v1/admin/concerts` (admin → 201 `{concertId}`). */
export function createConcertsRouter(deps: { concerts: ConcertRepository }): Router {
  const createConcert = createCreateConcertHandler(deps);
  const router = Router();
  router.get('/api/v1/concerts', async (req, res) => {
    const page = parseOrThrow(pageQuery, req.query, 'query');
    const after = page.cursor ? (decodeCursor(page.cursor, [CURSOR_PARTS.timestamp, CURSOR_PARTS.uuid]) as [string, string]) : undefined;
    const rows = await deps.concerts.list({ limit: page.limit + 1, after });
    const more = rows.length > page.limit;
    if (more) rows.pop();
    const body: ConcertListResponse = {
      concerts: rows.map(({ key: _key, ...concert }) => concert),
      nextCursor: more ? encodeCursor(rows[rows.length - 1].key) : null,
    };
    res.json(body);
  });
  router.post('/api/v1/admin/concerts', requireAdmin, async (req, res) => {
    const body: CreateConcertResponse = await createConcert(parseOrThrow(createConcertRequest, req.body));
    res.status(201).json(body);
  });
  return router;
}
