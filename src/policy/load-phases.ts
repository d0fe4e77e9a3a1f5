/**
 * The phases of loading a policy set, for the load bench (bench/load-bench.ts) to time one by
 * one. Serving passes no clock and pays nothing for it.
 */
export type LoadPhase = 'split' | 'parse' | 'validate' | 'preparse' | 'version';

export interface PhaseClock {
  time<T>(phase: LoadPhase, work: () => T): T;
}

export const untimed: PhaseClock = { time: (_phase, work) => work() };
