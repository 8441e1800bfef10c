// k6 run k6/queue.js — the waiting-room scenario for people who have k6 (the in-repo equivalent is
// bench/scenarios/gateway-queue.scenario.ts, run by `npm run bench`). Every VU lines up in one
// concert's waiting room: CONCERT_ID, or else the first listed concert whose sale is open (the demo
// seed that `npm start` runs gives every demo concert one). Each VU signs up and logs in once (the
// slow password hash, as before a sale opens), then lines up and polls its place at the pace the
// gateway asks for (`pollAfterMs`), as a real client would.
import http from 'k6/http';
import { check, fail, sleep } from 'k6';

const API = `${__ENV.GATEWAY_URL || 'http://127.0.0.1:3000'}/api/v1`;
const json = { headers: { 'content-type': 'application/json' } };

export const options = {
  scenarios: { fans: { executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '30s', target: 500 }, { duration: '1m', target: 500 }] } },
  thresholds: { 'http_req_duration{name:enter}': ['p(99)<50'], 'http_req_duration{name:status}': ['p(99)<30'], http_req_failed: ['rate<0.01'] },
};

/** The concert whose room the fans enter. */
export function setup() {
  if (__ENV.CONCERT_ID) return { concertId: __ENV.CONCERT_ID };
  const now = Date.now();
  for (const concert of http.get(`${API}/concerts?limit=100`).json('concerts') || []) {
    const sale = http.get(`${API}/concerts/${concert.concertId}`).json('sale');
    if (sale && Date.parse(sale.queueOpensAt) <= now) return { concertId: concert.concertId };
  }
  fail('no concert with an open sale: set CONCERT_ID, or configure one (PUT /api/v1/admin/concerts/{id}/sale)');
}

export default function ({ concertId }) {
  if (!__ITER) {
    const email = `k6-${__VU}-${Date.now()}@example.com`;
    http.post(`${API}/users`, JSON.stringify({ email, name: 'k6 fan', password: 'k6-password-123' }), json);
    const login = http.post(`${API}/sessions`, JSON.stringify({ email, password: 'k6-password-123' }), json);
    const session = login.json('sessionToken');
    const entry = http.post(`${API}/queue/tokens`, JSON.stringify({ concertId }), {
      headers: { authorization: `Bearer ${session}`, 'content-type': 'application/json' },
      tags: { name: 'enter' },
    });
    check(entry, { 'entered the line': (r) => r.status === 201 });
    globalThis.fan = { session, queueToken: entry.json('queueToken') };
  }
  const { session, queueToken } = globalThis.fan;
  const res = http.get(`${API}/queue/status`, { headers: { authorization: `Bearer ${session}`, 'x-queue-token': queueToken }, tags: { name: 'status' } });
  check(res, { 'status answered': (r) => r.status === 200 });
  sleep(Math.min(15, (res.json('pollAfterMs') || 1000) / 1000));
}
