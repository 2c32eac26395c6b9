import { Controller, Get } from '@nestjs/common';

/** Probed every few seconds by orchestrators; `/health*` is not traced by default. */
@Controller('health')
export class HealthController {
  @Get()
  check(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
