import { saleProblems } from './sale-rules';

describe('saleProblems', () => {
  it('accepts a pre-queue before the opening, and none at all (both times equal)', () => {
    expect(saleProblems({ queueOpensAt: '2030-01-01T09:00:00Z', saleOpensAt: '2030-01-01T10:00:00Z' })).toEqual([]);
    expect(saleProblems({ queueOpensAt: '2030-01-01T10:00:00Z', saleOpensAt: '2030-01-01T10:00:00Z' })).toEqual([]);
  });

  it('compares instants, not text (offsets differ)', () => {
    // 10:30+01:00 is 09:30Z: before the opening although its text sorts after it.
    expect(saleProblems({ queueOpensAt: '2030-01-01T10:30:00+01:00', saleOpensAt: '2030-01-01T10:00:00Z' })).toEqual([]);
    expect(saleProblems({ queueOpensAt: '2030-01-01T09:30:00-01:00', saleOpensAt: '2030-01-01T10:00:00Z' })).toEqual([
      { field: 'body.queueOpensAt', message: 'must not be after saleOpensAt' },
    ]);
  });

  it('names queueOpensAt when the waiting room would open after the sale', () => {
    expect(saleProblems({ queueOpensAt: '2030-01-01T10:00:01Z', saleOpensAt: '2030-01-01T10:00:00Z' })).toEqual([
      { field: 'body.queueOpensAt', message: 'must not be after saleOpensAt' },
    ]);
  });
});
