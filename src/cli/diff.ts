import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { ErrorCode, GatehouseError } from '../errors.js';
import { renderDiffMarkdown, renderDiffText } from '../report/render-diff.js';
import { runDiff } from '../report/run-diff.js';
import { usage, type CommandResult } from './command.js';

const help = `gatehouse diff --inventory FILE OLD_DIR NEW_DIR [--format text|json|md]
  the effective-access change between two policy sets: both are asked the same representative
  requests for every identity × service × method of the inventory (as gatehouse report does),
  and each edge granted (+) or revoked (-) is listed with the policies responsible in each set;
  a workload's actsFor adds delegation edges (ACTOR acting for PRINCIPAL)
options:
  --inventory FILE      YAML: workloads [{spiffeId, class, actsFor?, …}], services ["orders.shop", …],
                        users [{id, groups?}] (optional); required
  --format FORMAT       text (one edge a line), json, or md (a pull-request comment); default text
  --source-ip ADDRESS   source address of the representative requests; default 10.0.0.1
exit status: 0 nothing granted (revocations allowed), 1 some access granted, 2 bad input (either
set invalid, listed as FILE:LINE:COL: message) or bad usage`;

const formats = ['text', 'json', 'md'] as const;

export async function diff(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      inventory: { type: 'string' },
      format: { type: 'string', default: 'text' },
      'source-ip': { type: 'string', default: '10.0.0.1' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) return usage(help, 0);
  if (values.inventory === undefined) throw usageError('--inventory FILE is required');
  const format = formats.find((name) => name === values.format);
  if (format === undefined) throw usageError(`--format: expected text, json or md (got ${JSON.stringify(values.format)})`);
  if (isIP(values['source-ip']) === 0) throw usageError(`--source-ip: expected an IP address (got ${JSON.stringify(values['source-ip'])})`);
  const [oldDir, newDir, ...more] = positionals;
  if (oldDir === undefined || newDir === undefined || more.length > 0) throw usageError(`expected two policy directories, OLD_DIR NEW_DIR (got ${positionals.length})`);

  const outcome = await runDiff({ oldDir, newDir, inventoryFile: values.inventory, sourceIp: values['source-ip'] });
  if (!outcome.ok) return { code: 2, err: `${outcome.problems.map((problem) => `gatehouse diff: ${problem}`).join('\n')}\n` };
  const out = format === 'json' ? `${JSON.stringify(outcome.diff, null, 2)}\n` : format === 'md' ? renderDiffMarkdown(outcome.diff) : renderDiffText(outcome.diff);
  return { code: outcome.diff.granted.length > 0 ? 1 : 0, out };
}

function usageError(message: string): GatehouseError {
  return new GatehouseError(ErrorCode.config, message);
}
