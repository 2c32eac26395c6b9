import { SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { buildSpanTrees, type SpanTreeNode } from '../span-tree.js';

/** Options of {@link TraceTreeExporter}. */
export interface TraceTreeExporterOptions {
  /** Where the text goes (default: standard output). */
  write?: (text: string) => void;
  /** ANSI colours (default: when standard output is a terminal). */
  colors?: boolean;
  /** Traces kept while waiting for their local root span to end; the oldest is printed when exceeded (default 500). */
  maxPendingTraces?: number;
  /** Width of the waterfall bars, in characters (default 24). */
  barWidth?: number;
}

const KIND = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const COLOR = { red: '\u001b[31m', dim: '\u001b[2m', bold: '\u001b[1m', cyan: '\u001b[36m', reset: '\u001b[0m' };


/**
 * Prints each finished trace of this process as a tree with a waterfall, for local development: service,
 * span name, kind, duration, status. A trace prints when its local root (the span with no parent in this
 * process, such as the server span of a request) ends. `exporter: 'tree'` or `OTEL_TRACES_EXPORTER=tree`.
 */
export class TraceTreeExporter implements SpanExporter {
  private readonly pending = new Map<string, ReadableSpan[]>();
  /** Span ids already printed, per trace, so that a span ending after its parent prints at once as a late part. */
  private readonly printed = new Map<string, Set<string>>();
  private readonly write: (text: string) => void;
  private readonly colors: boolean;
  private readonly maxPendingTraces: number;
  private readonly barWidth: number;

  constructor(options: TraceTreeExporterOptions = {}) {
    this.write = options.write ?? ((text) => void process.stdout.write(text));
    this.colors = options.colors ?? process.stdout.isTTY === true;
    this.maxPendingTraces = options.maxPendingTraces ?? 500;
    this.barWidth = options.barWidth ?? 24;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      for (const span of spans) this.accept(span);
      done({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  /** Prints what is still waiting (spans whose local root never ended), so nothing is silently dropped. */
  async shutdown(): Promise<void> {
    for (const traceId of [...this.pending.keys()]) this.printPending(traceId);
  }

  async forceFlush(): Promise<void> {}

  private accept(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    const spans = this.pending.get(traceId) ?? [];
    spans.push(span);
    this.pending.delete(traceId);
    this.pending.set(traceId, spans);
    if (isLocalRoot(span) || this.parentPrinted(span)) this.printPending(traceId);
    if (this.pending.size > this.maxPendingTraces) this.printPending(this.pending.keys().next().value as string);
  }

  private printPending(traceId: string): void {
    const spans = this.pending.get(traceId);
    this.pending.delete(traceId);
    if (!spans || spans.length === 0) return;
    const printed = this.printed.get(traceId) ?? new Set<string>();
    for (const root of buildSpanTrees(spans)) this.write(this.render(root, !isLocalRoot(root.span)));
    for (const span of spans) printed.add(span.spanContext().spanId);
    this.printed.delete(traceId);
    this.printed.set(traceId, printed);
    if (this.printed.size > this.maxPendingTraces) this.printed.delete(this.printed.keys().next().value as string);
  }

  private parentPrinted(span: ReadableSpan): boolean {
    const parentId = span.parentSpanContext?.spanId;
    return parentId !== undefined && this.printed.get(span.spanContext().traceId)?.has(parentId) === true;
  }

  private render(root: SpanTreeNode, late: boolean): string {
    const start = hrTimeToMilliseconds(root.span.startTime);
    const total = Math.max(durationOf(root.span), 0.001);
    const service = String(root.span.resource.attributes['service.name'] ?? 'unknown_service');
    const note = late ? this.paint('dim', ' (ended after its parent)') : '';
    const header = `${this.paint('bold', `trace ${root.span.spanContext().traceId}`)} ${this.paint('cyan', service)}${note}`;
    const rows: [string, ReadableSpan][] = [];
    const walk = (node: SpanTreeNode, prefix: string, childPrefix: string) => {
      rows.push([prefix + node.span.name, node.span]);
      node.children.forEach((child, i) => {
        const last = i === node.children.length - 1;
        walk(child, childPrefix + (last ? '└─ ' : '├─ '), childPrefix + (last ? '   ' : '│  '));
      });
    };
    walk(root, '', '');
    const width = Math.min(60, Math.max(...rows.map(([label]) => label.length)));
    const lines = rows.map(([label, span]) => this.row(label, span, width, start, total));
    return `${header}\n${lines.join('\n')}\n\n`;
  }

  private row(label: string, span: ReadableSpan, width: number, start: number, total: number): string {
    const offset = hrTimeToMilliseconds(span.startTime) - start;
    const from = Math.min(this.barWidth - 1, Math.floor((offset / total) * this.barWidth));
    const length = Math.max(1, Math.round((durationOf(span) / total) * this.barWidth));
    const bar = ' '.repeat(from) + '█'.repeat(Math.min(length, this.barWidth - from));
    const name = label.length > width ? `${label.slice(0, width - 1)}…` : label.padEnd(width);
    const code = span.attributes['http.response.status_code'];
    const failed = span.status.code === SpanStatusCode.ERROR;
    const error = failed ? this.paint('red', `ERROR${span.status.message ? ` ${span.status.message}` : ''}`) : '';
    const status = [code === undefined ? '' : String(code), error].filter(Boolean).join(' ');
    const columns = [name, (KIND[span.kind] ?? String(span.kind)).padEnd(8), `${durationOf(span).toFixed(1).padStart(8)} ms`, this.paint('dim', bar.padEnd(this.barWidth)), status];
    return `  ${columns.join('  ')}`.trimEnd();
  }

  private paint(color: keyof typeof COLOR, text: string): string {
    return this.colors ? `${COLOR[color]}${text}${COLOR.reset}` : text;
  }
}

/** A span whose parent is in another process (or absent) starts this process's part of a trace. */
function isLocalRoot(span: ReadableSpan): boolean {
  return span.parentSpanContext === undefined || span.parentSpanContext.isRemote === true;
}

function durationOf(span: ReadableSpan): number {
  return hrTimeToMilliseconds(span.duration);
}
