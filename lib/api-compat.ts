import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The `@opentelemetry/api` versions the OpenTelemetry SDK 3.x packages accept (their peer range), as the package
 * declares it too. An older api lacks exports they import by name, and loading them would fail with a bare
 * `SyntaxError` about a missing export.
 */
export const SUPPORTED_API_RANGE = '>=1.10.0 <1.11.0';

/** Thrown at start-up when the installed `@opentelemetry/api` is one the SDK cannot use. */
export class OtelApiVersionError extends Error {
  constructor(
    /** The installed version, or `undefined` when none could be found. */
    readonly installed: string | undefined,
  ) {
    super(
      `nestjs-tracing needs @opentelemetry/api ${SUPPORTED_API_RANGE} (the range its OpenTelemetry SDK 3.x packages ` +
        `require), but ${installed === undefined ? 'none is installed' : `${installed} is installed`}. ` +
        'Install a matching version: npm install @opentelemetry/api@~1.10.0',
    );
    this.name = 'OtelApiVersionError';
  }
}

/** Whether `version` lies in {@link SUPPORTED_API_RANGE}. */
export function isSupportedApiVersion(version: string): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match !== null && Number(match[1]) === 1 && Number(match[2]) === 10;
}

/**
 * Throws {@link OtelApiVersionError} unless the `@opentelemetry/api` that resolves from this package (the one
 * the SDK packages beside it resolve too) is a supported version.
 */
export function assertSupportedApi(): void {
  const version = installedApiVersion();
  if (version === undefined || !isSupportedApiVersion(version)) throw new OtelApiVersionError(version);
}

/** The api's `package.json` is not in its `exports`, so it is found above the entry file that resolves. */
function installedApiVersion(): string | undefined {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('@opentelemetry/api');
  } catch {
    return undefined;
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === '@opentelemetry/api') return manifest.version;
    } catch {
      // No manifest at this level: keep climbing.
    }
  }
  return undefined;
}
