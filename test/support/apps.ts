import type { INestApplication, LoggerService, Type } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';

/** The HTTP platforms the library supports. */
export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface RunningApp {
  app: INestApplication;
  url: string;
}

/** Compiles `module` with @nestjs/testing and listens on 127.0.0.1 with a free port. */
export async function startApp(
  module: Type,
  platform: Platform = 'express',
  configure?: (app: INestApplication) => void,
  logger: LoggerService | false = false,
): Promise<RunningApp> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const adapter = platform === 'fastify' ? new FastifyAdapter() : undefined;
  const app = adapter
    ? moduleRef.createNestApplication(adapter, { logger })
    : moduleRef.createNestApplication({ logger });
  configure?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}` };
}
