import { fileURLToPath } from 'node:url';

/** One app configuration the benchmarks run as its own process. */
export interface Variant {
  label: string;
  env: Record<string, string>;
  nodeArgs: string[];
  /** The app to run; the baseline's for `baseline@…`. */
  app: string;
}

const APP = fileURLToPath(new URL('./app.js', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./official-preload.js', import.meta.url));

/** Variants for the cost breakdown: the library with tracing disabled, or without its default instrumentations. */
const BREAKDOWN: Record<string, Record<string, string>> = {
  'nestjs-tracing-disabled': { BENCH_VARIANT: 'nestjs-tracing', BENCH_DISABLED: '1' },
  'nestjs-tracing-bare': { BENCH_VARIANT: 'nestjs-tracing', BENCH_NO_INSTRUMENTATIONS: '1' },
  'nestjs-tracing-noexport': { BENCH_VARIANT: 'nestjs-tracing', OTEL_TRACES_EXPORTER: 'none' },
};

/** The variants besides the breakdown ones. */
const VARIANT_NAMES = ['none', 'control', 'als', 'nestjs-tracing', 'official', 'nestjs-otel', 'baseline'];

/**
 * The variant a spec such as `nestjs-tracing@0.1` names: `none`, `control` (a second untraced app, the same as
 * `none`: its ratio to `none` is the method's own error), `als` (untraced, each request inside an
 * AsyncLocalStorage run: what context propagation alone costs), `nestjs-tracing`, `official`, `nestjs-otel`, the
 * breakdown variants, or `baseline` (the app of the build in `baselineDir`), at the sampling ratio after `@`.
 */
export function variantOf(spec: string, baselineDir?: string): Variant {
  const [name, ratio = '1'] = spec.split('@');
  // The app runs any name it does not know untraced: a misspelt variant would be measured as `none`.
  if (!VARIANT_NAMES.includes(name) && !(name in BREAKDOWN)) {
    throw new Error(`unknown variant ${name} in ${spec}: one of ${[...VARIANT_NAMES, ...Object.keys(BREAKDOWN)].join(', ')}`);
  }
  const preload = name === 'official' || name === 'nestjs-otel' ? ['--import', PRELOAD] : [];
  if (name === 'baseline') {
    if (!baselineDir) throw new Error('baseline variants need --baseline DIR');
    const app = fileURLToPath(new URL('build/bench/app.js', `file://${baselineDir.replace(/\/?$/, '/')}`));
    return { label: spec, env: { BENCH_VARIANT: 'nestjs-tracing', BENCH_RATIO: ratio }, nodeArgs: [], app };
  }
  const env = BREAKDOWN[name] ?? { BENCH_VARIANT: name };
  return { label: spec, env: { ...env, BENCH_RATIO: ratio }, nodeArgs: preload, app: APP };
}
