import type { Config } from '../config.js';
import { winstonSink, type LineSink } from './decision-log.js';
import type { LossNotice } from './loss-notice.js';

/** Decision lines of a standalone server or a primary; losses go to `losses` (counted and said). */
export function decisionSink(config: Config, losses: LossNotice): LineSink | undefined {
  const sink = winstonSink(config.decisionLog, (loss, destination) => losses.report(loss.lost, destination, loss.reason));
  return (
    sink && {
      write: (lines) => sink.write(lines),
      async close() {
        await sink.close();
        losses.close();
      },
    }
  );
}
