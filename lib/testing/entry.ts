/** The runtime entry of `nestjs-tracing/testing`: checks `@opentelemetry/api` first, as `../entry.ts` explains. */
import { createRequire } from 'node:module';
import { assertSupportedApi } from '../api-compat.js';

assertSupportedApi();
const testing = createRequire(import.meta.url)('./index.js') as typeof import('./index.js');

export const { OtelTestingModule, SpanRecorder } = testing;
