/**
 * Redis commands whose first argument is not a key, or whose arguments are all values: recorded without them.
 * `AUTH` and `HELLO` carry credentials, `ECHO` and `PUBLISH` payloads, `EVAL` scripts with their data.
 */
const NO_KEY_COMMANDS = new Set([
  'auth', 'hello', 'echo', 'ping', 'select', 'client', 'config', 'acl', 'eval', 'evalsha', 'eval_ro', 'evalsha_ro',
  'fcall', 'fcall_ro', 'function', 'script', 'publish', 'spublish', 'subscribe', 'psubscribe', 'ssubscribe',
  'migrate', 'debug', 'cluster', 'sentinel', 'multi', 'exec', 'discard', 'quit', 'info', 'command', 'monitor',
]);

/**
 * The statement recorded for a Redis command (`db.query.text`): the command and its key, every other argument
 * replaced by `?`, so that cached values, messages and credentials never reach the collector. Keys are kept: they
 * say what was read or written; the redaction rules still scrub personal data in them.
 */
export function redisStatement(command: string, args: readonly unknown[]): string {
  const name = command.toUpperCase();
  if (args.length === 0) return name;
  if (NO_KEY_COMMANDS.has(command.toLowerCase())) return `${name} ${args.map(() => '?').join(' ')}`;
  const [key, ...rest] = args;
  const keyText = typeof key === 'string' || typeof key === 'number' ? String(key) : '?';
  return [name, keyText, ...rest.map(() => '?')].join(' ');
}
