// An ES-module app using the packed library as a user would, without TypeScript: decorators called as functions.
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { OtelModule, TracingInterceptor } from 'nestjs-tracing';
import { SpanRecorder } from 'nestjs-tracing/testing';

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

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const body = await (await fetch(`http://127.0.0.1:${app.getHttpServer().address().port}/ping`)).text();
await app.close();
const spans = recorder.spans.filter((s) => s.kind !== 2 /* CLIENT: this script's own fetch */).map((s) => s.name);
console.log(JSON.stringify({ body, spans, interceptor: typeof TracingInterceptor }));
