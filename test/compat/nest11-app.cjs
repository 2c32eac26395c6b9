// A Nest 11 app (CommonJS) started with `node -r nestjs-tracing/register`, so that
// instrumentation-nestjs-core patches @nestjs/core. Prints the finished spans as JSON.
const { Controller, Get, Module, UseInterceptors } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { OtelModule, TracingInterceptor } = require('nestjs-tracing');
const { SpanRecorder } = require('nestjs-tracing/testing');

const recorder = SpanRecorder.attach();

class PingController {
  ping() {
    return 'pong';
  }
}
Get('ping')(PingController.prototype, 'ping', Object.getOwnPropertyDescriptor(PingController.prototype, 'ping'));
// Applied on the route as well as globally: still one handler span.
UseInterceptors(TracingInterceptor)(PingController.prototype, 'ping', Object.getOwnPropertyDescriptor(PingController.prototype, 'ping'));
Controller()(PingController);
class AppModule {}
Module({ imports: [OtelModule.forRoot({ serviceName: 'nest11' })], controllers: [PingController] })(AppModule);

(async () => {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const body = await (await fetch(`http://127.0.0.1:${app.getHttpServer().address().port}/ping`)).text();
  await app.close();
  const spans = recorder.spans
    .filter((s) => s.kind !== 2 /* CLIENT: this script's own fetch */)
    .map((s) => ({ name: s.name, kind: s.kind, scope: s.instrumentationScope.name, type: s.attributes['nestjs.type'] }));
  console.log(JSON.stringify({ body, nest: require('@nestjs/core/package.json').version, spans }));
})();
