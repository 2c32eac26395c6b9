export { OtelTestingModule } from './otel-testing.module.js';
export { SpanRecorder, type SpanTreeNode } from './span-recorder.js';
