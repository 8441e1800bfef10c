import type { LogInRequest, LogInResponse } from '@ticketing/contracts';
import { ProblemError } from '@ticketing/http';
import type { PasswordHasher } from '../users/password-hasher';
import type { UserRepository } from '../users/user.repository';
import type { SessionTokens } from './session-token';

export interface LogInDeps {
  users: UserRepository;
  hasher: PasswordHasher;
  sessionTokens: SessionTokens;
}

export type LogInHandler = (request: LogInRequest) => Promise<LogInResponse>;

/**
 * Checks the password (the one slow hash of a fan's visit) and issues a session token. An unknown
 * email and a wrong password get the same 401 after the same work, so neither reveals an account.
 */
export function createLogInHandler({ users, hasher, sessionTokens }: LogInDeps): LogInHandler {
  return async ({ email, password }) => {
    const user = await users.findCredentialsByEmail(email);
    const valid = await hasher.verify(password, user?.passwordHash);
    if (!user || !valid) throw new ProblemError('INVALID_CREDENTIALS', 'the email or password is not correct');
    const { token, expiresAt } = await sessionTokens.issue(user.id);
    return { sessionToken: token, userId: user.id, expiresAt: expiresAt.toISOString() };
  };
}
