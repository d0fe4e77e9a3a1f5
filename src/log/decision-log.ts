import winston from 'winston';
import type { DecisionRecord } from './decision-record.js';

export interface DecisionLogOptions {
  readonly stdout: boolean;
  readonly file: string;
}

/**
 * Writes decision records as JSON lines through winston. Checks only enqueue; lines are
 * serialized and handed to the transports in batches on a later tick, off the hot path.
 */
export class DecisionLog {
  private readonly logger: winston.Logger | undefined;
  private queue: DecisionRecord[] = [];
  private scheduled = false;
  private written = 0;

  constructor(options: DecisionLogOptions) {
    const transports: winston.transport[] = [];
    if (options.stdout) transports.push(new winston.transports.Console());
    if (options.file !== '') transports.push(new winston.transports.File({ filename: options.file }));
    this.logger =
      transports.length === 0
        ? undefined
        : winston.createLogger({
            level: 'info',
            format: winston.format.printf((info) => info.message as string),
            transports,
          });
  }

  record(entry: DecisionRecord): void {
    if (!this.logger) return;
    this.queue.push(entry);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  get count(): number {
    return this.written;
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const entry of batch) this.logger?.info(JSON.stringify(entry));
    this.written += batch.length;
  }

  /** Flushes what is queued and waits for the transports to finish writing. */
  async close(): Promise<void> {
    this.flush();
    const logger = this.logger;
    if (!logger) return;
    await new Promise<void>((resolve) => {
      logger.on('finish', () => resolve());
      logger.end();
    });
  }
}
