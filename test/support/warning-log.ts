import type { LoggerService } from '@nestjs/common';

/** A Nest logger that keeps the warnings it is given and drops the rest, for tests that assert on them. */
export class WarningLog implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}
