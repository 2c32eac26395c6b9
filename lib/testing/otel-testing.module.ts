import { Module, type DynamicModule } from '@nestjs/common';
import { OtelModule } from '../otel.module.js';
import type { OtelModuleOptions } from '../otel.options.js';
import { SpanRecorder } from './span-recorder.js';

/**
 * `OtelModule` for tests: spans go to an injectable {@link SpanRecorder} instead of an exporter, with no warning
 * about shutdown hooks. Import it in `Test.createTestingModule()` and get the recorder with `app.get(SpanRecorder)`.
 */
@Module({})
export class OtelTestingModule {
  /** Options are those of `OtelModule.forRoot()`; the exporter defaults to `none`. */
  static forRoot(options: OtelModuleOptions = {}): DynamicModule {
    const recorder = new SpanRecorder();
    return {
      module: OtelTestingModule,
      global: true,
      imports: [
        OtelModule.forRoot({
          serviceName: 'test',
          exporter: 'none',
          warnOnMissingShutdownHooks: false,
          ...options,
          spanProcessors: [...(options.spanProcessors ?? []), recorder],
        }),
      ],
      providers: [{ provide: SpanRecorder, useValue: recorder }],
      exports: [SpanRecorder],
    };
  }
}
