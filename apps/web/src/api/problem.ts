/** An answer that was not a success: the problem+json body (or what stood for one), its status and Retry-After. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly body: Record<string, unknown> = {},
    readonly retryAfterSeconds?: number,
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

/** No answer at all (offline, the gateway down). */
export const NETWORK = 'NETWORK';
