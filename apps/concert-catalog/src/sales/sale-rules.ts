import type { SaleSettings } from '@ticketing/contracts';

export interface SaleProblem {
  field: string;
  message: string;
}

/**
 * The cross-field rule of a sale, with no I/O: the waiting room opens no later than the sale does
 * (equal = no pre-queue). The field rules (bounds, mode) are the contract's schema.
 */
export function saleProblems(settings: Pick<SaleSettings, 'queueOpensAt' | 'saleOpensAt'>): SaleProblem[] {
  if (Date.parse(settings.queueOpensAt) > Date.parse(settings.saleOpensAt)) {
    return [{ field: 'body.queueOpensAt', message: 'must not be after saleOpensAt' }];
  }
  return [];
}
