import { ExportResultCode, type ExportResult } from '@opentelemetry/core';

/** What the SDK's span and log record exporters have in common. */
export interface Exporter<T> {
  export(items: T[], done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/**
 * An exporter that can be given up on. At shutdown the SDK's processors flush their whole queue,
 * one batch after another, each waiting out the export timeout when the collector hangs: a
 * stopping gatehouse would wait minutes. Once closed, every export in flight and every later
 * one fails at once (the processors count them as dropped) and nothing waits for the collector.
 */
export class ClosableExporter<T> implements Exporter<T> {
  private closed = false;
  private readonly pending = new Set<(result: ExportResult) => void>();

  constructor(private readonly inner: Exporter<T>) {}

  export(items: T[], done: (result: ExportResult) => void): void {
    if (this.closed) {
      done(givenUp);
      return;
    }
    let answered = false;
    const once = (result: ExportResult): void => {
      if (answered) return;
      answered = true;
      this.pending.delete(once);
      done(result);
    };
    this.pending.add(once);
    this.inner.export(items, once);
  }

  /** Fails what is in flight and everything after; the collector is no longer waited for. */
  close(): void {
    this.closed = true;
    for (const done of [...this.pending]) done(givenUp);
    // Its own shutdown would wait for the requests in flight; they end by their timeout.
    void this.inner.shutdown().catch(() => undefined);
  }

  async forceFlush(): Promise<void> {
    if (!this.closed) await this.inner.forceFlush?.();
  }

  async shutdown(): Promise<void> {
    if (!this.closed) await this.inner.shutdown();
  }
}

const givenUp: ExportResult = { code: ExportResultCode.FAILED, error: new Error('telemetry shut down before the collector answered') };
