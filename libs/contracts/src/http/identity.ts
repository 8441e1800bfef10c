import { z } from './zod';
import { ids, isoTime } from '../events/primitives';

/**
 * Emails are compared case-insensitively, so they are normalised before anything looks at them.
 * 254 is the longest address SMTP can deliver to (RFC 5321 path limit).
 */
const email = z.string().trim().toLowerCase().min(3).max(254).email().openapi({ example: 'fan@example.com' });

/** POST /api/v1/users: sign up. */
export const signUpRequest = z
  .object({
    email,
    name: z.string().trim().min(1).max(100).openapi({ example: 'Kim Minji' }),
    // Not trimmed: a password is exactly what was typed. The upper bound keeps the hash input small.
    password: z.string().min(8).max(128).openapi({ format: 'password' }),
  })
  .strict()
  .openapi('SignUpRequest');
export type SignUpRequest = z.infer<typeof signUpRequest>;

export const signUpResponse = z.object({ userId: ids.user }).openapi('SignUpResponse');
export type SignUpResponse = z.infer<typeof signUpResponse>;

/** POST /api/v1/sessions: log in. */
export const logInRequest = z
  .object({
    email,
    // Only an upper bound: a stricter sign-up policy later must not lock out existing passwords,
    // and a wrong password of any length is a 401, not a 400.
    password: z.string().min(1).max(128).openapi({ format: 'password' }),
  })
  .strict()
  .openapi('LogInRequest');
export type LogInRequest = z.infer<typeof logInRequest>;

export const logInResponse = z
  .object({
    sessionToken: z.string().min(1).openapi({ description: 'Send as `Authorization: Bearer <sessionToken>`.' }),
    userId: ids.user,
    expiresAt: isoTime,
  })
  .openapi('LogInResponse');
export type LogInResponse = z.infer<typeof logInResponse>;
