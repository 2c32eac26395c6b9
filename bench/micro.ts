/**
 * `npm run bench:micro`: the library's own per-request cost, next to a bare `startSpan()`/`end()`.
 * The handler wrapper is measured as the app runs it: a controller discovered and wrapped by OtelModule,
 * called inside a server span, sampled and unsampled. Nothing is exported (exporter `none`).
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, SamplingDecision, SpanKind, trace, type Sampler } from '@opentelemetry/api';
import { OtelModule } from 'nestjs-tracing';

let sampling = true;
const switchable: Sampler = {
  shouldSample: () => ({ decision: sampling ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD }),
  toString: () => 'switchable',
};

@Controller()
class MicroController {
  @Get('tiny')
  tiny() {
    return { hello: 'world' };
  }
}

@Module({ imports: [OtelModule.forRoot({ serviceName: 'micro', exporter: 'none', sampler: switchable, instrumentations: [] })], controllers: [MicroController] })
class MicroModule {}

function nsPerOp(work: () => void, iterations = 200_000, repeats = 7): number {
  for (let i = 0; i < 20_000; i++) work();
  const runs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) work();
    runs.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return runs.sort((a, b) => a - b)[Math.floor(repeats / 2)];
}

// The method as written, before OtelModule wraps it on the prototype.
const unwrapped = MicroController.prototype.tiny;
const app = await NestFactory.create(MicroModule, { logger: ['error'] });
await app.init();
const controller = app.get(MicroController);
const tracer = trace.getTracer('micro');

function inServerSpan(work: () => void): () => void {
  return () => {
    const server = tracer.startSpan('GET /tiny', { kind: SpanKind.SERVER });
    context.with(trace.setSpan(context.active(), server), work);
    server.end();
  };
}

const rows: [string, number][] = [];
for (const sampled of [true, false]) {
  sampling = sampled;
  const label = sampled ? 'sampled' : 'unsampled';
  rows.push([`bare startSpan()+end(), ${label}`, nsPerOp(() => tracer.startSpan('bare').end())]);
  rows.push([`server span + plain handler call, ${label}`, nsPerOp(inServerSpan(() => void unwrapped.call(controller)))]);
  rows.push([`server span + traced handler call, ${label}`, nsPerOp(inServerSpan(() => void controller.tiny()))]);
}
await app.close();

const lines = ['| path | ns per call (median of 7 × 200k) |', '|---|---:|', ...rows.map(([name, ns]) => `| ${name} | ${ns.toFixed(0)} |`)];
const handlerSampled = rows[2][1] - rows[1][1];
const handlerUnsampled = rows[5][1] - rows[4][1];
lines.push('', `Handler span cost: ${handlerSampled.toFixed(0)} ns sampled, ${handlerUnsampled.toFixed(0)} ns unsampled (the wrapper's check).`);
console.log(lines.join('\n'));
