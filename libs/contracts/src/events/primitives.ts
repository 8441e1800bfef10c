import { z } from 'zod';

const uuid = z.string().uuid();
/** Aggregate ids are uuids; named so schemas read as the domain. */
export const ids = {
  user: uuid,
  concert: uuid,
  schedule: uuid,
  reservation: uuid,
  payment: uuid,
  account: uuid,
};

/** Money is a whole number of won. */
export const money = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const seatNo = z.number().int().min(1).max(10_000);
export const isoTime = z.string().datetime({ offset: true });
