import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { api, newIdempotencyKey, ok, type LedgerEntry } from '../api/client';
import { when, won } from '../lib/format';
import { href, navigate } from '../lib/router';
import { session, tell, userHeaders } from '../lib/store';
import { ErrorText, Loading, Title } from '../lib/ui';

const KIND = { CHARGE: 'Top-up', DEBIT: 'Payment', REFUND: 'Refund' } as const;

/** Balance, top-up and the ledger; `returnTo` brings the fan back to a hold after topping up. */
export function WalletScreen({ returnTo, need }: { returnTo?: string; need?: number }) {
  const balance = useSignal<number | null>(null);
  const ledger = useSignal<LedgerEntry[] | null>(null);
  const error = useSignal<unknown>(null);
  const busy = useSignal(false);
  // One key per intended top-up: a retry of the same one (a lost answer) adds the money once.
  const pendingKey = useRef<{ amount: number; key: string } | null>(null);
  const back = returnTo && returnTo.startsWith('/') ? returnTo : null;

  async function load() {
    try {
      const [w, t] = await Promise.all([
        ok(api.GET('/api/v1/wallet', { headers: userHeaders() })),
        ok(api.GET('/api/v1/wallet/transactions', { params: { query: { limit: 50 } }, headers: userHeaders() })),
      ]);
      balance.value = w.balance;
      ledger.value = t.transactions;
    } catch (e) {
      error.value = e;
    }
  }
  useEffect(() => {
    if (!session.value) {
      navigate(`/login?next=${encodeURIComponent(`/wallet${back ? `?return=${encodeURIComponent(back)}` : ''}`)}`, { replace: true });
      return;
    }
    void load();
  }, []);

  async function topUp(event: Event) {
    event.preventDefault();
    const amount = Number(new FormData(event.currentTarget as HTMLFormElement).get('amount'));
    if (pendingKey.current?.amount !== amount) pendingKey.current = { amount, key: newIdempotencyKey() };
    busy.value = true;
    error.value = null;
    try {
      const charged = await ok(
        api.POST('/api/v1/wallet/charges', { body: { amount }, params: { header: { 'Idempotency-Key': pendingKey.current.key } }, headers: userHeaders() }),
      );
      pendingKey.current = null;
      balance.value = charged.balance;
      tell(`Added ${won(charged.amount)}. Your balance is ${won(charged.balance)}.`);
      if (back) navigate(back);
      else void load();
    } catch (e) {
      error.value = e;
    } finally {
      busy.value = false;
    }
  }

  return (
    <section>
      <Title>Wallet</Title>
      <p class="lede">
        Balance: <strong class="figure">{balance.value === null ? '…' : won(balance.value)}</strong>
      </p>
      {back && (
        <p>
          <a href={href(back)}>← Back to your seat</a>
        </p>
      )}
      <form class="panel" onSubmit={topUp}>
        <h2>Top up</h2>
        <label>
          Amount (won)
          <input name="amount" type="number" inputMode="numeric" min={1} step={1} required defaultValue={need && need > 0 ? String(need) : '200000'} />
        </label>
        <ErrorText error={error.value} />
        <button type="submit" class="primary" disabled={busy.value}>
          Add money
        </button>
      </form>
      <h2>History</h2>
      {!ledger.value && !error.value && <Loading what="your history" />}
      {ledger.value?.length === 0 && <p>No money has moved yet.</p>}
      {ledger.value && ledger.value.length > 0 && (
        <table>
          <caption class="visually-hidden">Wallet history, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col" class="num">
                Amount
              </th>
              <th scope="col" class="num">
                Balance after
              </th>
            </tr>
          </thead>
          <tbody>
            {ledger.value.map((e) => (
              <tr key={e.transactionId}>
                <td>{when(e.createdAt)}</td>
                <td>{KIND[e.kind]}</td>
                <td class="num">{`${e.kind === 'DEBIT' ? '−' : '+'}${won(e.amount)}`}</td>
                <td class="num">{won(e.balanceAfter)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
