import { API_PREFIX, ROUTE_POLICY } from '../access/route-policy';
import { BODIES, buildOpenApiDocument } from './openapi.document';

type Operation = { operationId?: string; parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[]; requestBody?: unknown; responses: Record<string, unknown>; security?: unknown[] };

describe('OpenAPI document', () => {
  const doc = buildOpenApiDocument() as unknown as { openapi: string; paths: Record<string, Record<string, Operation>> };
  const operation = (method: string, path: string) => doc.paths[`${API_PREFIX}${path.replace(/:(\w+)/g, '{$1}')}`]?.[method.toLowerCase()];

  it('documents every route of the access policy, and documents no route that does not exist', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const route of ROUTE_POLICY) expect(operation(route.method, route.path)).toBeDefined();
    const policy = new Set(ROUTE_POLICY.map((r) => `${r.method} ${r.path}`));
    expect(Object.keys(BODIES).filter((k) => !policy.has(k))).toEqual([]);
  });

  it('gives every route a documented body schema or none on purpose', () => {
    const undocumented = ROUTE_POLICY.filter((r) => !BODIES[`${r.method} ${r.path}`]).map((r) => `${r.method} ${r.path}`);
    expect(undocumented).toEqual([]);
  });

  it('asks for an Idempotency-Key where money moves, with the answers clients must handle', () => {
    for (const [method, path] of [
      ['POST', '/wallet/charges'],
      ['POST', '/payments'],
    ]) {
      const op = operation(method, path)!;
      expect(op.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true })]));
      expect(op.requestBody).toBeDefined();
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '409', '422']));
    }
    expect(Object.keys(operation('POST', '/payments')!.responses)).toEqual(expect.arrayContaining(['202', '402', '403', '404']));
    expect(operation('GET', '/wallet')!.parameters ?? []).toEqual([]);
    expect(operation('GET', '/wallet/transactions')!.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['query:before', 'query:limit']);
  });

  it('names every operation once, for generated clients', () => {
    const ids = ROUTE_POLICY.map((r) => operation(r.method, r.path)!.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('declares every path parameter as a required uuid', () => {
    for (const route of ROUTE_POLICY) {
      const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      const declared = (operation(route.method, route.path)!.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name).sort()).toEqual([...names].sort());
      for (const p of declared) expect(p).toMatchObject({ required: true, schema: { type: 'string', format: 'uuid' } });
    }
  });

  it('documents the refusals clients must handle', () => {
    const answers = (method: string, path: string) => Object.keys(operation(method, path)!.responses);
    expect(answers('POST', '/users')).toEqual(expect.arrayContaining(['201', '409']));
    expect(answers('POST', '/sessions')).toEqual(expect.arrayContaining(['200', '401']));
    expect(answers('POST', '/reservations')).toEqual(expect.arrayContaining(['201', '403', '409']));
    expect(answers('GET', '/payments/:paymentId')).toEqual(expect.arrayContaining(['200', '404']));
    for (const route of ROUTE_POLICY) expect(answers(route.method, route.path)).toContain('429');
  });
});
