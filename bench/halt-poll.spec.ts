import { haltPollSetting } from './halt-poll.js';

describe('the --halt-poll value', () => {
  it('takes nanoseconds, or keep for the machine setting', () => {
    expect(haltPollSetting('200000')).toBe(200000);
    expect(haltPollSetting('0')).toBe(0);
    expect(haltPollSetting('keep')).toBeUndefined();
  });

  it('refuses anything else with an error naming the value', () => {
    for (const value of ['', ' ', '-1', '1.5', 'abc', '200us']) {
      expect(() => haltPollSetting(value)).toThrow(`--halt-poll takes nanoseconds or keep: ${value}`);
    }
  });
});
