import type { CreateConcertRequest, CreateConcertResponse } from '@ticketing/contracts';
import { newId } from '@ticketing/db';
import type { ConcertRepository } from './concert.repository';

export type CreateConcertHandler = (request: CreateConcertRequest) => Promise<CreateConcertResponse>;

/** Creates a concert; its dates are added (and published) one by one afterwards. */
export function createCreateConcertHandler({ concerts }: { concerts: ConcertRepository }): CreateConcertHandler {
  return async (request) => {
    const concertId = newId();
    await concerts.insert({ id: concertId, ...request });
    return { concertId };
  };
}
