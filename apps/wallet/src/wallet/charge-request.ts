import { chargeRequest, type ChargeRequest } from '@ticketing/contracts';
import { ProblemError, validationProblem } from '@ticketing/http';

/**
 * Reads a charge body against the contract: any problem with `amount` (missing, a string, a
 * fraction, zero, negative, above `maxCharge`) is 400 INVALID_AMOUNT with the allowed range;
 * anything else (unknown fields, a body that is not an object) is 400 VALIDATION_FAILED.
 */
export function readChargeRequest(body: unknown, maxCharge: number): ChargeRequest {
  const result = chargeRequest.safeParse(body ?? {}); // no body at all = no amount
  const range = { min: 1, max: maxCharge };
  if (!result.success) {
    if (result.error.issues.some((i) => i.path[0] === 'amount')) throw invalidAmount(range);
    throw validationProblem(result.error);
  }
  if (result.data.amount > maxCharge) throw invalidAmount(range);
  return result.data;
}

function invalidAmount(range: { min: number; max: number }): ProblemError {
  return new ProblemError('INVALID_AMOUNT', `amount must be a whole number of won from ${range.min} to ${range.max} (a JSON number, not a string)`, range);
}
