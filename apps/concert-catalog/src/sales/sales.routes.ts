import { concertIdParams, saleSettingsRequest, type ConcertDetailResponse, type SaleResponse } from '@ticketing/contracts';
import { parseOrThrow, ProblemError } from '@ticketing/http';
import { Router } from 'express';
import { requireAdmin } from '../access/require-admin';
import { createConfigureSaleHandler, type ConfigureSaleDeps } from './configure-sale.handler';

/**
 * `PUT /api/v1/admin/concerts/{concertId}/sale` (admin: set or replace the sale → the sale with its
 * revision), `GET /api/v1/admin/concerts/{concertId}/sale` (admin: the sale as set, 404
 * SALE_NOT_FOUND before one is) and `GET /api/v1/concerts/{concertId}` (public: the concert and its
 * sale's public part, `sale: null` until one is configured).
 */
export function createSalesRouter(deps: ConfigureSaleDeps): Router {
  const configureSale = createConfigureSaleHandler(deps);
  const router = Router();
  router.put('/api/v1/admin/concerts/:concertId/sale', requireAdmin, async (req, res) => {
    const { concertId } = parseOrThrow(concertIdParams, req.params, 'path');
    const body: SaleResponse = await configureSale(concertId, parseOrThrow(saleSettingsRequest, req.body));
    res.json(body);
  });
  router.get('/api/v1/admin/concerts/:concertId/sale', requireAdmin, async (req, res) => {
    const { concertId } = parseOrThrow(concertIdParams, req.params, 'path');
    const sale = await deps.sales.find(concertId);
    if (sale) return void res.json(sale satisfies SaleResponse);
    if (!(await deps.concerts.exists(concertId))) throw new ProblemError('NOT_FOUND', `no concert ${concertId}`);
    throw new ProblemError('SALE_NOT_FOUND', `concert ${concertId} has no sale configured yet`);
  });
  router.get('/api/v1/concerts/:concertId', async (req, res) => {
    const { concertId } = parseOrThrow(concertIdParams, req.params, 'path');
    const [concert, sale] = await Promise.all([deps.concerts.find(concertId), deps.sales.findPublic(concertId)]);
    if (!concert) throw new ProblemError('NOT_FOUND', `no concert ${concertId}`);
    const body: ConcertDetailResponse = { ...concert, sale };
    res.json(body);
  });
  return router;
}
