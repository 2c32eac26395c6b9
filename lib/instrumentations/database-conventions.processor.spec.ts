import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { DatabaseConventionsProcessor } from './database-conventions.processor.js';

function span(attributes: Attributes, status = SpanStatusCode.UNSET, exception?: Attributes): ReadableSpan {
  return {
    name: 'query',
    kind: SpanKind.CLIENT,
    attributes,
    status: { code: status },
    events: exception ? [{ name: 'exception', time: [0, 0], attributes: exception }] : [],
  } as unknown as ReadableSpan;
}

describe('DatabaseConventionsProcessor', () => {
  const processor = new DatabaseConventionsProcessor();
  const end = (s: ReadableSpan) => {
    processor.onEnd(s);
    return s.attributes;
  };

  it('names the operation from the statement when the instrumentation did not', () => {
    expect(end(span({ 'db.system.name': 'postgresql', 'db.query.text': '  select * from orders where id = $1' }))['db.operation.name']).toBe('SELECT');
    expect(end(span({ 'db.system.name': 'postgresql', 'db.query.text': 'START TRANSACTION' }))['db.operation.name']).toBe('START');
    expect(end(span({ 'db.system.name': 'redis', 'db.query.text': 'GET k', 'db.operation.name': 'get' }))['db.operation.name']).toBe('get');
    expect(end(span({ 'db.system.name': 'postgresql', 'db.query.text': '/* comment */ SELECT 1' }))['db.operation.name']).toBeUndefined();
  });

  it('sets error.type from the exception type, or the SQLSTATE in instrumentation-pg\'s message, else _OTHER', () => {
    const db = { 'db.system.name': 'mysql' };
    expect(end(span({ ...db }, SpanStatusCode.ERROR, { 'exception.type': 'ER_NO_SUCH_TABLE' }))['error.type']).toBe('ER_NO_SUCH_TABLE');
    const pg = { 'exception.message': "PostgreSQL error of type 'error' occurred (code: 42P01)" };
    expect(end(span({ 'db.system.name': 'postgresql' }, SpanStatusCode.ERROR, pg))['error.type']).toBe('42P01');
    const unknown = { 'exception.message': "PostgreSQL error of type 'error' occurred (code: UNKNOWN)" };
    expect(end(span({ 'db.system.name': 'postgresql' }, SpanStatusCode.ERROR, unknown))['error.type']).toBe('_OTHER');
    expect(end(span({ ...db }, SpanStatusCode.ERROR))['error.type']).toBe('_OTHER');
    expect(end(span({ ...db, 'error.type': 'timeout' }, SpanStatusCode.ERROR))['error.type']).toBe('timeout');
  });

  it('leaves successful and non-database spans alone', () => {
    expect(end(span({ 'db.system.name': 'postgresql', 'db.query.text': 'SELECT 1' }))['error.type']).toBeUndefined();
    expect(end(span({ 'http.route': '/x' }, SpanStatusCode.ERROR, { 'exception.type': 'Error' }))).toEqual({ 'http.route': '/x' });
  });
});
