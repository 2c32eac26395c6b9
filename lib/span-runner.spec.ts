import { BadRequestException, ForbiddenException, HttpException, InternalServerErrorException, NotFoundException } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { startUnitTracing, type UnitTracing } from '../test/support/tracing.js';
import { isServerFailure, recordFailure } from './span-runner.js';

describe('isServerFailure', () => {
  it.each([
    ['a plain Error', new Error('boom'), true],
    ['a thrown string', 'boom', true],
    ['a 500 HttpException', new InternalServerErrorException(), true],
    ['a 503 HttpException', new HttpException('down', 503), true],
    ['a 400 HttpException', new BadRequestException(), false],
    ['a 403 HttpException', new ForbiddenException(), false],
    ['a 404 HttpException', new NotFoundException(), false],
    ['an RpcException with a gRPC INVALID_ARGUMENT code', new RpcException({ code: 3, message: 'bad' }), false],
    ['an RpcException with a gRPC NOT_FOUND code', new RpcException({ code: 5, message: 'none' }), false],
    ['an RpcException with a gRPC INTERNAL code', new RpcException({ code: 13, message: 'broken' }), true],
    ['an RpcException with a gRPC UNAVAILABLE code', new RpcException({ code: 14, message: 'down' }), true],
    ['an RpcException with an HTTP-like 422 status', new RpcException({ status: 422, message: 'invalid' }), false],
    ['an RpcException with a message only', new RpcException('no such candidate'), true],
    ['a GraphQL validation error', Object.assign(new Error('bad field'), { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }), false],
    ['a GraphQL internal error', Object.assign(new Error('db'), { extensions: { code: 'INTERNAL_SERVER_ERROR' } }), true],
  ])('%s: %s', (_, error, expected) => {
    expect(isServerFailure(error)).toBe(expected);
  });
});

describe('recordFailure', () => {
  let tracing: UnitTracing;

  beforeAll(() => {
    tracing = startUnitTracing();
  });
  afterAll(() => tracing.stop());

  it('records a client error without the ERROR status, and a server error with it', () => {
    const tracer = trace.getTracer('test');
    const client = tracer.startSpan('client');
    recordFailure(client, new NotFoundException('no account'));
    client.end();
    const server = tracer.startSpan('server');
    recordFailure(server, new Error('ledger write failed'));
    server.end();
    const [clientSpan] = tracing.recorder.byName('client');
    const [serverSpan] = tracing.recorder.byName('server');
    expect(clientSpan.status.code).toBe(SpanStatusCode.UNSET);
    expect(clientSpan.attributes['error.type']).toBe('NotFoundException');
    expect(clientSpan.events.map((e) => e.attributes?.['exception.type'])).toEqual(['NotFoundException']);
    expect(serverSpan.status).toEqual({ code: SpanStatusCode.ERROR, message: 'ledger write failed' });
  });
});
