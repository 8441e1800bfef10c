import { ProblemError } from '@ticketing/http';
import type { Cluster, Redis } from 'ioredis';
import { jwtVerify, SignJWT } from 'jose';
import { createHash, randomUUID } from 'node:crypto';

const ISSUER = 'queue-gateway';
const AUDIENCE = 'queue-challenge';

/** Leading zero bits of a digest. */
export function leadingZeroBits(digest: Buffer): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** The work a client does: find `nonce` with sha256(`${challenge}:${nonce}`) starting with `difficulty` zero bits. */
export function proofDigest(challenge: string, nonce: string): Buffer {
  return createHash('sha256').update(`${challenge}:${nonce}`).digest();
}

/** Solves a challenge by counting up (what a client does; the tests use it). */
export function solveChallenge(challenge: string, difficulty: number): string {
  for (let n = 0; ; n++) {
    const nonce = n.toString(36);
    if (leadingZeroBits(proofDigest(challenge, nonce)) >= difficulty) return nonce;
  }
}

export interface ProofOfWorkOptions {
  /** Signs the challenges (HS256; its own audience, so no other token of the system is accepted as one). */
  secret: string;
  redis: Redis | Cluster;
  /** Rooms' key prefix: a used challenge is remembered under its room's hash tag until it expires. */
  keyPrefix: string;
  /** How long a challenge may be answered. */
  ttlSeconds?: number;
}

/**
 * An optional proof-of-work on entering a room (as Queue-it offers), difficulty set per sale: the
 * server issues a signed challenge for one user and one sale, the client answers with a nonce whose
 * sha256 with the challenge has `difficulty` leading zero bits. Issuing is stateless; checking is one
 * signature check, one sha256 and one SET NX (so an answer is used once): microseconds for the
 * server, 2^difficulty hashes on average for the client.
 */
export function createProofOfWork({ secret, redis, keyPrefix, ttlSeconds = 120 }: ProofOfWorkOptions) {
  const key = new TextEncoder().encode(secret);
  return {
    async challenge(userId: string, concertId: string, difficulty: number) {
      const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
      const challenge = await new SignJWT({ crt: concertId, dif: difficulty })
        .setProtectedHeader({ alg: 'HS256', typ: 'pow+jwt' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(userId)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(expiresAt)
        .sign(key);
      return { challenge, difficulty, algorithm: 'sha256' as const, expiresAt: expiresAt.toISOString() };
    },

    /** Throws 403 PROOF_OF_WORK_REQUIRED unless `proof` answers a live challenge of this user and sale at `difficulty`, for the first time. */
    async verify(proof: { challenge: string; nonce: string } | undefined, userId: string, concertId: string, difficulty: number): Promise<void> {
      const refuse = (why: string) => new ProblemError('PROOF_OF_WORK_REQUIRED', `${why}: ask GET /api/v1/queue/challenge?concertId=${concertId} and send its answer as \`proof\``, { difficulty });
      if (!proof) throw refuse('this sale asks for a proof-of-work to enter its waiting room');
      let jti: string;
      let exp: number;
      try {
        const { payload } = await jwtVerify(proof.challenge, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'], typ: 'pow+jwt', subject: userId });
        if (payload.crt !== concertId || typeof payload.dif !== 'number' || payload.dif < difficulty) throw new Error('another sale or an easier challenge');
        jti = payload.jti!;
        exp = payload.exp!;
      } catch {
        throw refuse('the challenge is not one issued to you for this sale, or it has expired');
      }
      if (leadingZeroBits(proofDigest(proof.challenge, proof.nonce)) < difficulty) throw refuse('the nonce does not solve the challenge');
      const ttlMs = Math.max(1, exp * 1000 - Date.now());
      const first = await redis.set(`{${keyPrefix}:${concertId}}:pow:${jti}`, '1', 'PX', ttlMs, 'NX');
      if (first !== 'OK') throw refuse('this answer was used already');
    },
  };
}

export type ProofOfWork = ReturnType<typeof createProofOfWork>;
