import { MAX_TRACE_STATE_MEMBERS, W3CTraceState } from './trace-state.js';

const members = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `bar${String(from + i).padStart(2, '0')}=${String(from + i).padStart(2, '0')}`).join(',');

describe('W3CTraceState', () => {
  describe('keys', () => {
    it.each([
      ['a simple key', 'foo'],
      ['a key starting with a digit', '1foo'],
      ['every key character', 'abcdefghijklmnopqrstuvwxyz0123456789_-*/'],
      ['a trailing at sign', 'foo@'],
      ['two at signs in a row', 'foo@@bar'],
      ['several at signs', 'foo@bar@baz'],
      ['a 241+1+14 character tenant@system key', `${'t'.repeat(241)}@${'v'.repeat(14)}`],
      ['a 242+1+1 character key', `${'t'.repeat(242)}@v`],
      ['a system part longer than 14 characters', `t@${'v'.repeat(15)}`],
      ['a 256 character key', 'z'.repeat(256)],
    ])('accepts %s', (_, key) => {
      const state = W3CTraceState.parse(`${key}=1,bar=2`);
      expect(state?.get(key)).toBe('1');
      expect(state?.get('bar')).toBe('2');
    });

    it.each([
      ['a leading at sign', '@foo'],
      ['a capital letter', 'FOO'],
      ['a capital letter inside', 'fOo'],
      ['a dot', 'foo.bar'],
      ['a space before the equals sign', 'foo '],
      ['a 257 character key', 'z'.repeat(257)],
      ['a leading underscore', '_foo'],
      ['an empty key', ''],
    ])('discards the whole list for %s', (_, key) => {
      expect(W3CTraceState.parse(`bar=2,${key}=1`)).toBeUndefined();
    });
  });

  describe('values', () => {
    it('accepts every printable character but comma and equals, and keeps leading spaces', () => {
      const value = [0x20, 0x2b, 0x2d, 0x3c, 0x3e, 0x7e].map((c) => String.fromCharCode(c)).join('') + 'x';
      const printable = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i))
        .filter((c) => c !== ',' && c !== '=')
        .join('');
      expect(W3CTraceState.parse(`foo=${value}`)?.get('foo')).toBe(value);
      expect(W3CTraceState.parse(`foo=${printable}`)?.get('foo')).toBe(printable);
      expect(W3CTraceState.parse('foo= x')?.get('foo')).toBe(' x');
    });

    it('accepts 256 characters and refuses 257', () => {
      expect(W3CTraceState.parse(`foo=${'v'.repeat(256)}`)?.get('foo')).toHaveLength(256);
      expect(W3CTraceState.parse(`foo=${'v'.repeat(257)}`)).toBeUndefined();
    });

    it.each([
      ['an equals sign', 'foo=bar=baz'],
      ['an empty value', 'foo=,bar=3'],
      ['a tab', 'foo=a\tb'],
      ['a non-ASCII character', 'foo=caf\u00e9'],
      ['a control character', 'foo=a\u0001b'],
      ['no equals sign', 'foo'],
    ])('discards the whole list for %s', (_, header) => {
      expect(W3CTraceState.parse(header)).toBeUndefined();
    });
  });

  describe('lists', () => {
    it('ignores spaces and tabs around members, and empty or blank members', () => {
      const state = W3CTraceState.parse('foo=1 \t , \t bar=2, \t baz=3,, ,\t,');
      expect(state?.serialize()).toBe('foo=1,bar=2,baz=3');
    });

    it('treats the trailing space of a member as whitespace, not as part of the value', () => {
      expect(W3CTraceState.parse('foo=1 ')?.get('foo')).toBe('1');
      expect(W3CTraceState.parse('\t foo=1 \t')?.get('foo')).toBe('1');
    });

    it('joins several headers into one list, in order', () => {
      const state = W3CTraceState.parse(['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3']);
      expect(state?.serialize()).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
    });

    it('accepts an empty header, alone or beside others', () => {
      expect(W3CTraceState.parse('')?.serialize()).toBe('');
      expect(W3CTraceState.parse(['foo=1', ''])?.serialize()).toBe('foo=1');
      expect(W3CTraceState.parse(['', 'foo=1'])?.serialize()).toBe('foo=1');
    });

    it('keeps 32 members across headers and discards 33', () => {
      const kept = W3CTraceState.parse([members(1, 10), members(11, 20), members(21, 30), members(31, 32)]);
      expect(kept?.keys()).toHaveLength(MAX_TRACE_STATE_MEMBERS);
      expect(kept?.get('bar01')).toBe('01');
      expect(W3CTraceState.parse([members(1, 10), members(11, 20), members(21, 30), members(31, 33)])).toBeUndefined();
    });

    it('does not count empty members towards the 32', () => {
      expect(W3CTraceState.parse(`${members(1, 32)},,  , `)?.keys()).toHaveLength(32);
    });

    it('keeps the left-most member of a repeated key and the rest of the list', () => {
      expect(W3CTraceState.parse('foo=1,foo=1')?.serialize()).toBe('foo=1');
      expect(W3CTraceState.parse('foo=1,bar=2,foo=3')?.serialize()).toBe('foo=1,bar=2');
      expect(W3CTraceState.parse(['foo=1', 'foo=2'])?.serialize()).toBe('foo=1');
    });

    it('discards the list when a repeated key comes with a member past the 32nd', () => {
      expect(W3CTraceState.parse(`${members(1, 32)},bar01=x`)).toBeUndefined();
    });
  });

  describe('mutation', () => {
    const state = W3CTraceState.parse('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')!;

    it('adds a new entry on the left', () => {
      expect(state.set('ours', 'a').serialize()).toBe('ours=a,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    });

    it('moves an updated entry to the left', () => {
      expect(state.set('congo', 'congosSecondPosition').serialize()).toBe('congo=congosSecondPosition,rojo=00f067aa0ba902b7');
    });

    it('drops the right-most members to stay at 32', () => {
      const full = W3CTraceState.parse(members(1, 32))!;
      const added = full.set('ours', 'a');
      expect(added.keys()).toHaveLength(32);
      expect(added.keys()[0]).toBe('ours');
      expect(added.get('bar32')).toBeUndefined();
      expect(added.get('bar31')).toBe('31');
    });

    it('leaves the list as it was for an invalid key or value', () => {
      expect(state.set('Bad', 'a')).toBe(state);
      expect(state.set('ok', 'a,b')).toBe(state);
      expect(state.set('ok', 'trailing ')).toBe(state);
    });

    it('removes an entry and keeps the order of the others', () => {
      expect(state.unset('rojo').serialize()).toBe('congo=t61rcWkgMzE');
      expect(state.unset('absent')).toBe(state);
      expect(state.serialize()).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    });

    it('builds a list from nothing', () => {
      expect(W3CTraceState.empty().set('ours', '1').serialize()).toBe('ours=1');
    });
  });
});
