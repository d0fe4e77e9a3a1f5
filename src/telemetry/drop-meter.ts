import { createNoopMeter, type Attributes, type Counter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';

/**
 * The SDK's batch processors report, through a MeterProvider, every record they finish with: a
 * record dropped because the queue was full, or one whose export failed (refused, timed out),
 * carries `error.type`. This provider counts exactly those and ignores every other instrument,
 * so the drops come from the SDK's own accounting rather than from a guess made outside it.
 */
export function dropCountingMeterProvider(dropped: (count: number) => void): MeterProvider {
  const noop = createNoopMeter();
  const counter: Counter = {
    add(value: number, attributes?: Attributes) {
      if (attributes?.[ATTR_ERROR_TYPE] !== undefined) dropped(value);
    },
  };
  const meter: Meter = Object.assign(Object.create(noop) as Meter, { createCounter: () => counter });
  return { getMeter: () => meter };
}
