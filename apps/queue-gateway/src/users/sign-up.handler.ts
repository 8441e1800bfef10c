import type { SignUpRequest, SignUpResponse } from '@ticketing/contracts';
import { ProblemError } from '@ticketing/http';
import type { PasswordHasher } from './password-hasher';
import type { UserRepository } from './user.repository';

export interface SignUpDeps {
  users: UserRepository;
  hasher: PasswordHasher;
}

export type SignUpHandler = (request: SignUpRequest) => Promise<SignUpResponse>;

/** Creates an account: hash the password, insert; a taken address is 409 EMAIL_TAKEN and changes nothing. */
export function createSignUpHandler({ users, hasher }: SignUpDeps): SignUpHandler {
  return async ({ email, name, password }) => {
    const passwordHash = await hasher.hash(password);
    const result = await users.insert({ email, name, passwordHash });
    if (!result.ok) throw new ProblemError('EMAIL_TAKEN', 'an account with this email already exists');
    return { userId: result.userId };
  };
}
