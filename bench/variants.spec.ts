import { variantOf } from './variants.js';

describe('variantOf', () => {
  it('reads the sampling ratio after @ and the breakdown variants', () => {
    expect(variantOf('nestjs-tracing@0.1').env).toEqual({ BENCH_VARIANT: 'nestjs-tracing', BENCH_RATIO: '0.1' });
    expect(variantOf('control').env).toEqual({ BENCH_VARIANT: 'control', BENCH_RATIO: '1' });
    expect(variantOf('nestjs-tracing-noexport@1').env).toMatchObject({ BENCH_VARIANT: 'nestjs-tracing', OTEL_TRACES_EXPORTER: 'none' });
    expect(variantOf('official@1').nodeArgs[0]).toBe('--import');
  });

  it('refuses a variant the app does not know, which it would otherwise run untraced', () => {
    expect(() => variantOf('nestjs-tracng@1')).toThrow(/unknown variant nestjs-tracng/);
  });
});
