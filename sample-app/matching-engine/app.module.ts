import { Module } from '@nestjs/common';
import { OtelModule } from 'nestjs-tracing';
import { HealthController } from '../shared/health.controller.js';
import { MatchEventsController } from './match-events.controller.js';
import { MatchingService } from './matching.service.js';
import { ScoresController } from './scores.controller.js';

@Module({
  // Everything else comes from OTEL_* variables, as in a Kubernetes deployment.
  imports: [OtelModule.forRoot()],
  controllers: [ScoresController, MatchEventsController, HealthController],
  providers: [MatchingService],
})
export class MatchingEngineModule {}
