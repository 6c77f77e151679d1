import { LatencyWindow, type Percentiles } from './latency.js';

/** A snapshot of a queue's counts and latencies. */
export interface QueueStats {
  name: string;
  ready: number;
  /** Ready jobs with priority below 1024 (beanstalkd's `current-jobs-urgent`). */
  urgent: number;
  delayed: number;
  reserved: number;
  buried: number;
  /** Jobs held: every state. */
  total: number;
  /** Producers waiting for room (`maxSize`). */
  waitingProducers: number;
  /** Pull consumers waiting in `reserve()`. */
  waitingConsumers: number;
  added: number;
  completed: number;
  /** Failed attempts (errors, timeouts, lost leases). */
  failed: number;
  retried: number;
  /** Jobs buried (dead letters) since the queue started, any reason. */
  dead: number;
  /** Leases that ran out. */
  leaseTimeouts: number;
  isPaused: boolean;
  concurrency: number;
  /** From due to first start, ms, over the most recent jobs. */
  waitTime: Percentiles;
  /** From start to acknowledgement, ms, over the most recent jobs. */
  runTime: Percentiles;
}

/** What a queue has done since it started: the counters and latency windows of its stats. */
export class QueueCounters {
  added = 0;
  completed = 0;
  /** Failed attempts. */
  failed = 0;
  retried = 0;
  dead = 0;
  leaseTimeouts = 0;
  /** Due to first start. */
  readonly waitTimes = new LatencyWindow();
  /** Start to acknowledgement. */
  readonly runTimes = new LatencyWindow();

  /** The stats, with the counts only the queue knows now. */
  stats(now: Omit<QueueStats, 'added' | 'completed' | 'failed' | 'retried' | 'dead' | 'leaseTimeouts' | 'waitTime' | 'runTime'>): QueueStats {
    return {
      ...now,
      added: this.added,
      completed: this.completed,
      failed: this.failed,
      retried: this.retried,
      dead: this.dead,
      leaseTimeouts: this.leaseTimeouts,
      waitTime: this.waitTimes.percentiles(),
      runTime: this.runTimes.percentiles(),
    };
  }
}
