import { ApiProblem } from '../api/client';
import { inWords, PLACE_GONE, SESSION_GONE } from '../api/problems';
import { navigate } from './router';
import { setSession, storeQueueToken, tell } from './store';

/**
 * A refusal that means the fan cannot go on here: the session is gone (→ log in again) or the place
 * in line is (expired, not admitted, another concert's: → back to the line, with the reason). True
 * when it was one of those and the fan has been moved.
 */
export function sendBackIfGone(error: unknown, concertId: string, from: string): boolean {
  if (!(error instanceof ApiProblem)) return false;
  if (SESSION_GONE.has(error.code)) {
    setSession(null);
    tell(inWords(error), 'warn');
    navigate(`/login?next=${encodeURIComponent(from)}`);
    return true;
  }
  if (PLACE_GONE.has(error.code)) {
    // Not admitted yet: the token is still good, the line screen shows the place.
    if (error.code !== 'NOT_ADMITTED') storeQueueToken(concertId, null);
    tell(inWords(error), 'warn');
    navigate(`/concerts/${concertId}`);
    return true;
  }
  return false;
}
