import { leadingZeroBits, proofDigest, solveChallenge } from './proof-of-work';

describe('proof-of-work arithmetic', () => {
  it('counts leading zero bits across bytes', () => {
    expect(leadingZeroBits(Buffer.from([0x80]))).toBe(0);
    expect(leadingZeroBits(Buffer.from([0x01]))).toBe(7);
    expect(leadingZeroBits(Buffer.from([0x00, 0x00, 0x10]))).toBe(19);
    expect(leadingZeroBits(Buffer.from([0x00, 0x00]))).toBe(16);
  });

  it('finds a nonce meeting the difficulty, and a digest below it does not', () => {
    const nonce = solveChallenge('some-challenge', 12);
    expect(leadingZeroBits(proofDigest('some-challenge', nonce))).toBeGreaterThanOrEqual(12);
    expect(leadingZeroBits(proofDigest('another-challenge', nonce))).toBeLessThan(12 + 8); // almost surely not as lucky again
  });
});
