// k6 run k6/smoke.js — for people who have k6 (it is not installable on the project's CI machines;
// `npm run bench` runs the in-repo scenarios there). Checks that every service is up and ready.
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_HOST || 'http://127.0.0.1';
// The gateway answers /health/ready on its operations port (GATEWAY_OPS_PORT), not on its public 3000.
const PORTS = { 'queue-gateway': 3100, 'concert-catalog': 3001, reservation: 3002, wallet: 3003, payment: 3004 };

export const options = { vus: 5, duration: '10s', thresholds: { http_req_failed: ['rate<0.01'], http_req_duration: ['p(99)<50'] } };

export default function () {
  for (const [name, port] of Object.entries(PORTS)) {
    const res = http.get(`${BASE}:${port}/health/ready`, { tags: { service: name } });
    check(res, { [`${name} ready`]: (r) => r.status === 200 });
  }
}
