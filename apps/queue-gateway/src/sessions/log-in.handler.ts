import type { LogInRequest, LogInResponse } from '@ticketing/contracts';
import { ProblemError } from '@ticketing/http';
import type { LogInGuard } from '../rate-limits/rate-limits';
import type { PasswordHasher } from '../users/password-hasher';
import type { UserRepository } from '../users/user.repository';
import type { SessionTokens } from './session-token';

export interface LogInDeps {
  users: UserRepository;
  hasher: PasswordHasher;
  sessionTokens: SessionTokens;
  /** The log-in limits (per email and address, per address). */
  guard: LogInGuard;
}

export type LogInHandler = (request: LogInRequest, client: { address: string }) => Promise<LogInResponse>;

/**
 * Checks the password (the one slow hash of a fan's visit) and issues a session token. The attempt
 * is counted before the hash, so a burst of guesses cannot outrun the limits; a success forgets the
 * failures. An unknown email and a wrong password get the same 401 after the same work (and count
 * alike), so neither reveals an account. A hash of an older kind or cost is replaced on success.
 */
export function createLogInHandler({ users, hasher, sessionTokens, guard }: LogInDeps): LogInHandler {
  return async ({ email, password }, { address }) => {
    await guard.admit(email, address);
    const user = await users.findCredentialsByEmail(email);
    const valid = await hasher.verify(password, user?.passwordHash);
    if (!user || !valid) throw new ProblemError('INVALID_CREDENTIALS', 'the email or password is not correct');
    await guard.succeeded(email, address);
    if (hasher.needsRehash(user.passwordHash)) await users.replacePasswordHash(user.id, user.passwordHash, await hasher.hash(password));
    const { token, expiresAt } = await sessionTokens.issue(user.id);
    return { sessionToken: token, userId: user.id, expiresAt: expiresAt.toISOString() };
  };
}
