import { redisStatement } from './redis-statement.js';

describe('redisStatement', () => {
  it('keeps the command and its key, and masks every value', () => {
    expect(redisStatement('set', ['cart:dora', 'gift', 'EX', 60])).toBe('SET cart:dora ? ? ?');
    expect(redisStatement('get', ['cart:dora'])).toBe('GET cart:dora');
    expect(redisStatement('hset', ['user:7', 'email', 'dora@example.org'])).toBe('HSET user:7 ? ?');
    expect(redisStatement('mset', ['a', '1', 'b', '2'])).toBe('MSET a ? ? ?');
  });

  it('masks every argument of commands whose first argument is not a key', () => {
    expect(redisStatement('auth', ['admin', 's3cret'])).toBe('AUTH ? ?');
    expect(redisStatement('hello', ['3', 'AUTH', 'admin', 's3cret'])).toBe('HELLO ? ? ? ?');
    expect(redisStatement('publish', ['orders', '{"card":"4111"}'])).toBe('PUBLISH ? ?');
    expect(redisStatement('eval', ['return 1', 0])).toBe('EVAL ? ?');
    expect(redisStatement('CLIENT', ['SETNAME', 'api'])).toBe('CLIENT ? ?');
  });

  it('writes a command without arguments alone, and a binary key as a placeholder', () => {
    expect(redisStatement('info', [])).toBe('INFO');
    expect(redisStatement('get', [Buffer.from('k')])).toBe('GET ?');
  });
});
