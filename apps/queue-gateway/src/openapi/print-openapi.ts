/**
 * Prints the gateway's OpenAPI document (the one served at /api/docs/openapi.json) as JSON on stdout,
 * for generators that run without a gateway: `node --import tsx apps/queue-gateway/src/openapi/print-openapi.ts`.
 */
import { buildOpenApiDocument } from './openapi.document';

process.stdout.write(`${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
