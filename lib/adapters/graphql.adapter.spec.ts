import type { ExecutionContext } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { resolveOtelOptions } from '../otel.options.js';
import { startUnitTracing, type UnitTracing } from '../../test/support/tracing.js';
import { graphqlAdapter } from './graphql.adapter.js';

/** A resolver invocation as Nest hands it over: root, args, GraphQL context, resolve info. */
function invocation(graphqlContext: object, path: { key: string; prev?: unknown }): ExecutionContext {
  const info = { fieldName: String(path.key), path, operation: { operation: 'query', name: { value: 'Profile' } } };
  const args = [{}, {}, graphqlContext, info];
  return { getArgByIndex: (i: number) => args[i] } as unknown as ExecutionContext;
}

describe('graphqlAdapter', () => {
  let tracing: UnitTracing;
  const tracer = trace.getTracer('test');

  beforeAll(() => {
    tracing = startUnitTracing();
  });
  afterAll(() => tracing.stop());

  it('traces root fields only by default, and nested fields too with graphqlResolvers "all"', () => {
    const root = { key: 'user' };
    const nested = { key: 'posts', prev: root };
    const byDefault = resolveOtelOptions({}, {});
    const all = resolveOtelOptions({ interceptor: { graphqlResolvers: 'all' } }, {});
    const requestContext = {};

    expect(graphqlAdapter.enter(invocation(requestContext, root), tracer, byDefault)?.attributes).toEqual({ 'graphql.field.path': 'user' });
    expect(graphqlAdapter.enter(invocation(requestContext, nested), tracer, byDefault)).toBeUndefined();
    expect(graphqlAdapter.enter(invocation(requestContext, nested), tracer, all)?.attributes).toEqual({ 'graphql.field.path': 'user.posts' });
  });

  it('makes one operation span per GraphQL context, shared by its resolvers', () => {
    tracing.recorder.reset();
    const options = resolveOtelOptions({}, {});
    const first = graphqlAdapter.enter(invocation({}, { key: 'a' }), tracer, options);
    const shared = {};
    const second = graphqlAdapter.enter(invocation(shared, { key: 'b' }), tracer, options);
    const third = graphqlAdapter.enter(invocation(shared, { key: 'c' }), tracer, options);
    expect(trace.getSpan(second!.parent)).toBe(trace.getSpan(third!.parent));
    expect(trace.getSpan(first!.parent)).not.toBe(trace.getSpan(second!.parent));
    // Without an HTTP request nothing tells when the operation ends, so its span ends at once.
    expect(tracing.recorder.byName('query Profile')).toHaveLength(2);
  });
});
