import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// Adds `.openapi()` once, so the gateway's OpenAPI document is generated from the very schemas that validate.
extendZodWithOpenApi(z);

export { z };
