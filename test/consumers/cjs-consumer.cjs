// A CommonJS app: it reaches the ESM-only library (and Nest 12) through require(esm).
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { OtelModule, TracingInterceptor } = require('nestjs-tracing');
const { SpanRecorder } = require('nestjs-tracing/testing');

// Read after app.close(), when the server span of the last response has ended too.
const recorder = new SpanRecorder();
class PingController {
  ping() {
    return 'pong';
  }
}
Get('ping')(PingController.prototype, 'ping', Object.getOwnPropertyDescriptor(PingController.prototype, 'ping'));
Controller()(PingController);
class AppModule {}
Module({
  imports: [OtelModule.forRoot({ exporter: 'none', spanProcessors: [recorder] })],
  controllers: [PingController],
})(AppModule);

(async () => {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const body = await (await fetch(`http://127.0.0.1:${app.getHttpServer().address().port}/ping`)).text();
  await app.close();
  const spans = recorder.spans.filter((s) => s.kind !== 2 /* CLIENT: this script's own fetch */).map((s) => s.name);
  console.log(JSON.stringify({ body, spans, interceptor: typeof TracingInterceptor }));
})();
