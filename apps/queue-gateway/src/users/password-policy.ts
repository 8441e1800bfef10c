/** argon2id cost: memory in KiB, passes, lanes. */
export interface Argon2idCost {
  memoryKib: number;
  iterations: number;
  parallelism: number;
}

/**
 * OWASP Password Storage Cheat Sheet, argon2id: the minimum configurations, equal in strength and
 * trading memory for passes (m=47104 KiB t=1, 19456 t=2, 12288 t=3, 9216 t=4, 7168 t=5, all p=1).
 */
export const OWASP_ARGON2ID_MINIMUMS: readonly Pick<Argon2idCost, 'memoryKib' | 'iterations'>[] = [
  { memoryKib: 47_104, iterations: 1 },
  { memoryKib: 19_456, iterations: 2 },
  { memoryKib: 12_288, iterations: 3 },
  { memoryKib: 9_216, iterations: 4 },
  { memoryKib: 7_168, iterations: 5 },
];

/** True when the cost is at or above one of OWASP's rows in both memory and passes. */
export function meetsOwaspArgon2idMinimum({ memoryKib, iterations, parallelism }: Argon2idCost): boolean {
  return parallelism >= 1 && OWASP_ARGON2ID_MINIMUMS.some((row) => memoryKib >= row.memoryKib && iterations >= row.iterations);
}
