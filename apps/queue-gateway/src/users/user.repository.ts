import { newId, type Database } from '@ticketing/db';

export const USERS_TABLE = 'users';
/** The unique index on lower(email) (see migrations/20261121000100_users.ts). */
const EMAIL_UNIQUE_INDEX = 'users_email_lower_key';
const UNIQUE_VIOLATION = '23505';

export interface NewUser {
  /** Already normalised (trimmed, lower case) by the request schema. */
  email: string;
  name: string;
  passwordHash: string;
}

export interface UserCredentials {
  id: string;
  passwordHash: string;
}

export type InsertUserResult = { ok: true; userId: string } | { ok: false; reason: 'EMAIL_TAKEN' };

export interface UserRepository {
  /** Inserts the user; an address already taken (in any letter case) is reported, not thrown. */
  insert(user: NewUser): Promise<InsertUserResult>;
  /** The user's id and password hash, matching the address case-insensitively. */
  findCredentialsByEmail(email: string): Promise<UserCredentials | undefined>;
  /** Stores `next` as the user's hash if it is still `current` (a change made meanwhile wins); true if replaced. */
  replacePasswordHash(userId: string, current: string, next: string): Promise<boolean>;
}

const isEmailTaken = (error: unknown) => {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === UNIQUE_VIOLATION && e.constraint === EMAIL_UNIQUE_INDEX;
};

export function createUserRepository(db: Database): UserRepository {
  return {
    async insert({ email, name, passwordHash }) {
      try {
        // No existence check first: two racing sign-ups would both pass it. The unique index decides.
        const [row] = await db(USERS_TABLE).insert({ id: newId(), email, name, password_hash: passwordHash }).returning<{ id: string }[]>('id');
        return { ok: true, userId: row.id };
      } catch (error) {
        if (isEmailTaken(error)) return { ok: false, reason: 'EMAIL_TAKEN' };
        throw error;
      }
    },

    async findCredentialsByEmail(email) {
      // lower(email) = lower(?) so the lookup uses the unique expression index.
      const row = await db(USERS_TABLE)
        .select<{ id: string; password_hash: string }[]>('id', 'password_hash')
        .whereRaw('lower(email) = lower(?)', [email])
        .first();
      return row && { id: row.id, passwordHash: row.password_hash };
    },

    async replacePasswordHash(userId, current, next) {
      const updated = await db(USERS_TABLE).where({ id: userId, password_hash: current }).update({ password_hash: next });
      return updated === 1;
    },
  };
}
