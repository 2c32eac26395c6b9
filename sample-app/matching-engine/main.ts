import { Transport } from '@nestjs/microservices';
import { bootstrap } from '../shared/bootstrap.js';
import { MatchingEngineModule } from './app.module.js';

await bootstrap('matching-engine', MatchingEngineModule, 3001, async (app) => {
  // A second transport for the portal's events: a TCP microservice in the same app. inheritAppConfig gives it
  // the app's global enhancers, the tracing interceptor among them.
  app.connectMicroservice(
    { transport: Transport.TCP, options: { host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.EVENTS_PORT ?? 3002) } },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
});
