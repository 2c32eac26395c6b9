import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';

/** Statement keywords that name the operation of a single SQL statement. */
const SQL_OPERATION = /^\s*(SELECT|INSERT|UPDATE|DELETE|MERGE|UPSERT|WITH|CALL|BEGIN|START|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|CREATE|ALTER|DROP|TRUNCATE|SET|SHOW|EXPLAIN)\b/i;

/**
 * Completes the database client spans of the driver instrumentations where they fall short of the stable
 * conventions, before redaction and export:
 * - `error.type` on a failed operation: the driver's error code when it has one (PostgreSQL's SQLSTATE such as
 *   `42P01`, MySQL's `ER_NO_SUCH_TABLE`), which the exception event carries as its type, else `_OTHER`;
 * - `db.operation.name` from the statement's leading keyword, when the instrumentation did not set it.
 */
export class DatabaseConventionsProcessor implements SpanProcessor {
  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    const attributes = span.attributes;
    if (attributes['db.system.name'] === undefined) return;
    if (attributes['db.operation.name'] === undefined) {
      const statement = attributes['db.query.text'];
      const operation = typeof statement === 'string' ? SQL_OPERATION.exec(statement)?.[1] : undefined;
      if (operation) attributes['db.operation.name'] = operation.toUpperCase();
    }
    if (span.status.code === SpanStatusCode.ERROR && attributes['error.type'] === undefined) attributes['error.type'] = errorType(span);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

// instrumentation-pg records a sanitized message instead of the error: "... occurred (code: 42P01)".
const CODE_IN_MESSAGE = /\(code: ([0-9A-Za-z_]+)\)$/;

function errorType(span: ReadableSpan): string {
  const exception = span.events.find((event) => event.name === 'exception')?.attributes;
  const type = exception?.['exception.type'];
  if (typeof type === 'string' && type !== '') return type;
  const message = exception?.['exception.message'];
  const code = typeof message === 'string' ? CODE_IN_MESSAGE.exec(message)?.[1] : undefined;
  return code && code !== 'UNKNOWN' ? code : '_OTHER';
}
