import { createConcertRequest, type ConcertListResponse, type CreateConcertResponse } from '@ticketing/contracts';
import { parseOrThrow } from '@ticketing/http';
import { Router } from 'express';
import { requireAdmin } from '../access/require-admin';
import type { ConcertRepository } from './concert.repository';
import { createCreateConcertHandler } from './create-concert.handler';

/** `GET /api/v1/concerts` (public) and `POST /api/v1/admin/concerts` (admin → 201 `{concertId}`). */
export function createConcertsRouter(deps: { concerts: ConcertRepository }): Router {
  const createConcert = createCreateConcertHandler(deps);
  const router = Router();
  router.get('/api/v1/concerts', async (_req, res) => {
    const body: ConcertListResponse = { concerts: await deps.concerts.list() };
    res.json(body);
  });
  router.post('/api/v1/admin/concerts', requireAdmin, async (req, res) => {
    const body: CreateConcertResponse = await createConcert(parseOrThrow(createConcertRequest, req.body));
    res.status(201).json(body);
  });
  return router;
}
