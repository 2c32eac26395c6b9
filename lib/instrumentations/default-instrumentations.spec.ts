import { resolveOtelOptions } from '../otel.options.js';
import { OutgoingBaggageFilter } from '../privacy/baggage-filter.js';
import { createDefaultInstrumentations, reconfigureDefaultInstrumentations } from './default-instrumentations.js';

describe('the default instrumentations', () => {
  const defaults = createDefaultInstrumentations(resolveOtelOptions({}, {}), new OutgoingBaggageFilter());

  afterAll(() => {
    for (const instrumentation of defaults.instrumentations) instrumentation.disable();
  });

  it('are outgoing HTTP and the drivers this repository has installed, each with its name', () => {
    expect([...defaults.names.values()]).toEqual(expect.arrayContaining(['http', 'undici', 'pg', 'mysql2', 'ioredis', 'redis', 'amqplib']));
    expect(defaults.instrumentations).toHaveLength(defaults.names.size);
    expect(defaults.warnings).toEqual([]);
  });

  it('leave out, at a later start in the process, the ones switched off by name', () => {
    const later = reconfigureDefaultInstrumentations(defaults, resolveOtelOptions({ disabledInstrumentations: ['undici', 'pg'] }, {}));
    const names = later.map((instrumentation) => defaults.names.get(instrumentation));
    expect(names).not.toContain('undici');
    expect(names).not.toContain('pg');
    expect(names).toContain('http');
    expect(reconfigureDefaultInstrumentations(defaults, resolveOtelOptions({}, {}))).toHaveLength(defaults.instrumentations.length);
  });
});
