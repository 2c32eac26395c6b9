import { readFileSync, writeFileSync } from 'node:fs';

/** The cpuidle-haltpoll driver's setting on KVM guests: how long an idle vCPU polls before it halts. */
const HALT_POLL_NS = '/sys/module/haltpoll/parameters/guest_halt_poll_ns';

/** What {@link applyGuestHaltPolling} did, for the report, and how to undo it. */
export interface HaltPolling {
  /** One line for the report: the setting in force and why. */
  readonly summary: string;
  /** Puts the machine's own setting back; safe to call more than once. */
  restore(): void;
}

/** A `--halt-poll` value: nanoseconds, or undefined for `keep` (the machine's setting); anything else is an error. */
export function haltPollSetting(value: string): number | undefined {
  if (value === 'keep') return undefined;
  const nanoseconds = Number(value);
  if (value.trim() === '' || !Number.isInteger(nanoseconds) || nanoseconds < 0) throw new Error(`--halt-poll takes nanoseconds or keep: ${value}`);
  return nanoseconds;
}

/**
 * Sets guest halt polling to `nanoseconds` for the run, where the machine has the setting and lets this process
 * write it, and puts the previous value back when the process exits.
 *
 * On a VM with polling off, an idle vCPU halts at once, and waking it is an interrupt sent through the hypervisor,
 * paid in the waker's system time. The load generator's vCPU waits idle between responses, so a response the app
 * writes may pay for that wake-up, and the slower an app, the more often the client is found idle, a cost a client
 * across a network never puts on a server. With polling, a vCPU that went idle a moment ago is woken by a flag it
 * polls, without the hypervisor; but a polling vCPU also takes host CPU, which a shared host may take back from the
 * app's vCPU.
 */
export function applyGuestHaltPolling(nanoseconds: number): HaltPolling {
  let previous: string;
  try {
    previous = readFileSync(HALT_POLL_NS, 'utf8').trim();
  } catch {
    return { summary: 'Guest halt polling: not a setting of this machine (no cpuidle-haltpoll driver).', restore() {} };
  }
  if (Number(previous) === nanoseconds) return { summary: `Guest halt polling: ${previous} ns, the machine's own setting.`, restore() {} };
  try {
    writeFileSync(HALT_POLL_NS, String(nanoseconds));
  } catch (error) {
    return { summary: `Guest halt polling: left at ${previous} ns (${(error as Error).message.split('\n')[0]}).`, restore() {} };
  }
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    try {
      writeFileSync(HALT_POLL_NS, previous);
    } catch {
      process.stderr.write(`could not put ${HALT_POLL_NS} back to ${previous}\n`);
    }
  };
  process.once('exit', restore);
  // Interrupted, the run still puts the setting back, and exits as the signal would have (128 + its number).
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.once(signal, () => {
      restore();
      process.exit(128 + number);
    });
  }
  return { summary: `Guest halt polling: ${nanoseconds} ns for this run (the machine's ${previous} ns put back at exit).`, restore };
}
