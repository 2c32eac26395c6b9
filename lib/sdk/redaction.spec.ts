import { resolveOtelOptions, type OtelModuleOptions } from '../otel.options.js';
import { maskQuery } from './redaction.js';
import { startUnitTracing } from '../../test/support/tracing.js';
import { trace } from '@opentelemetry/api';

const rules = (redact: OtelModuleOptions['redact']) => resolveOtelOptions({ redact }, {}).redact;

describe('redaction', () => {
  it('masks the named query parameters and keeps the rest of the URL byte for byte', () => {
    const redaction = rules({ queryParameters: ['token', 'e mail'] });
    expect(maskQuery('https://api.test/p?token=s3cr3t&page=2&e+mail=a%40b.c#top', redaction)).toBe(
      'https://api.test/p?token=%5BREDACTED%5D&page=2&e+mail=%5BREDACTED%5D#top',
    );
    expect(maskQuery('token=abc&tokens=keep', redaction)).toBe('token=%5BREDACTED%5D&tokens=keep');
    expect(maskQuery('a=1;token=abc', redaction)).toBe('a=1;token=%5BREDACTED%5D');
    expect(maskQuery('bad=%E0%A4%A', redaction)).toBe('bad=%E0%A4%A');
  });

  it('masks the default credential and personal parameters and the semantic conventions\' ones, whatever their case', () => {
    const byDefault = rules(undefined);
    const query = 'Token=t1&EMAIL=a%40b.c&X-Goog-Signature=s1&sig=s2&AWSAccessKeyId=k1&page=2&keyword=shoes&password=p&password=q';
    expect(maskQuery(query, byDefault)).toBe(
      'Token=%5BREDACTED%5D&EMAIL=%5BREDACTED%5D&X-Goog-Signature=%5BREDACTED%5D&sig=%5BREDACTED%5D&AWSAccessKeyId=%5BREDACTED%5D&page=2&keyword=shoes&password=%5BREDACTED%5D&password=%5BREDACTED%5D',
    );
    expect(maskQuery('https://cdn.test/a.png?X-Goog-Signature=abc#token=frag', byDefault)).toBe('https://cdn.test/a.png?X-Goog-Signature=%5BREDACTED%5D#token=frag');
    expect(maskQuery('acc%65ss_token=abc', byDefault)).toBe('acc%65ss_token=%5BREDACTED%5D');
  });

  it('extends the default list, or keeps only the required parameters when the defaults are turned off', () => {
    expect(maskQuery('tenant=acme&token=t', rules({ queryParameters: ['Tenant'] }))).toBe('tenant=%5BREDACTED%5D&token=%5BREDACTED%5D');
    const narrow = rules({ defaultQueryParameters: false, queryParameters: ['tenant'] });
    expect(maskQuery('tenant=acme&token=t&sig=s', narrow)).toBe('tenant=%5BREDACTED%5D&token=t&sig=%5BREDACTED%5D');
  });

  it('accepts keys, globs and RegExps, and rejects what is not one', () => {
    const redaction = rules(['user.email', 'http.request.header.*', /^enduser\./]);
    expect(['user.email', 'http.request.header.authorization', 'enduser.id', 'user.id'].map(redaction.matchesKey)).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(() => resolveOtelOptions({ redact: ['', 42 as unknown as string] }, {})).toThrow(
      /redact\.keys\[0\]="".*\n.*redact\.keys\[1\]=42: expected an attribute key/,
    );
    expect(() => resolveOtelOptions({ redact: { keys: ['a'], replacement: 7 as unknown as string } }, {})).toThrow(
      /redact\.replacement=7: expected a string, or null to remove/,
    );
  });

  it('masks or removes span and event attributes before any processor or exporter sees them', async () => {
    const tracing = startUnitTracing({ redact: { keys: ['user.email', 'enduser.*'], queryParameters: ['token'], replacement: null } });
    try {
      const span = trace.getTracer('t').startSpan('signup', {
        attributes: { 'user.email': 'ada@example.com', 'enduser.id': 'u-1', 'url.query': 'token=abc&plan=pro', plan: 'pro' },
      });
      span.addEvent('mail.sent', { 'user.email': 'ada@example.com', template: 'welcome' });
      span.end();
      const [recorded] = tracing.recorder.spans;
      expect(recorded.attributes).toEqual({ 'url.query': 'token=&plan=pro', plan: 'pro' });
      expect(recorded.events[0].attributes).toEqual({ template: 'welcome' });
    } finally {
      await tracing.stop();
    }
  });
});
