import winston from 'winston';

/**
 * Operational messages (start, reloads, faults) as JSON lines on stderr, kept apart from the
 * decision log on stdout so that log pipelines can route the two.
 */
export const opsLog = winston.createLogger({
  level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info',
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
});
