import type { INestApplication, Type } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { TracingConsoleLogger } from 'nestjs-tracing';

/**
 * Starts a sample service the way the README tells users to: shutdown hooks on, so SIGTERM closes the app,
 * the library flushes every span in onApplicationShutdown, and the process exits 0.
 */
export async function bootstrap(name: string, module: Type, defaultPort: number, before?: (app: INestApplication) => Promise<void>) {
  const app = await NestFactory.create(module, { logger: new TracingConsoleLogger({ prefix: name }) });
  app.enableShutdownHooks([], { useProcessExit: true });
  await before?.(app);
  const port = Number(process.env.PORT ?? defaultPort);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  const actual = (app.getHttpServer().address() as AddressInfo).port;
  new Logger(name).log(`listening ${actual}`);
  return app;
}
