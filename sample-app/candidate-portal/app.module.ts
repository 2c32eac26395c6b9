import { Module } from '@nestjs/common';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { OtelModule, traceRpcClient } from 'nestjs-tracing';
import { HealthController } from '../shared/health.controller.js';
import { MatchesController } from './matches.controller.js';
import { MATCHING_ENGINE_URL, MATCHING_EVENTS, MatchingClient } from './matching.client.js';

@Module({
  // Everything else comes from OTEL_* variables, as in a Kubernetes deployment.
  imports: [OtelModule.forRoot()],
  controllers: [MatchesController, HealthController],
  providers: [
    MatchingClient,
    { provide: MATCHING_ENGINE_URL, useValue: process.env.MATCHING_ENGINE_URL ?? 'http://127.0.0.1:3001' },
    {
      provide: MATCHING_EVENTS,
      useFactory: () =>
        traceRpcClient(
          ClientProxyFactory.create({
            transport: Transport.TCP,
            options: { host: process.env.MATCHING_ENGINE_HOST ?? '127.0.0.1', port: Number(process.env.MATCHING_ENGINE_EVENTS_PORT ?? 3002) },
          }),
          { system: 'tcp' },
        ),
    },
  ],
})
export class CandidatePortalModule {}
