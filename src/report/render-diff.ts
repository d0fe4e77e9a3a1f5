import type { Probe } from './access-matrix.js';
import type { ChangedEdge } from './access-diff.js';
import { escapeMarkdown } from './escape.js';
import type { DiffJson } from './run-diff.js';

type Direction = 'granted' | 'revoked';

/** One edge a line, `+` granted and `-` revoked, then a summary line. */
export function renderDiffText(diff: DiffJson): string {
  const lines = [...diff.granted.map((edge) => `+ ${edgeText(edge, 'granted')}`), ...diff.revoked.map((edge) => `- ${edgeText(edge, 'revoked')}`)];
  lines.push(`${summaryText(diff)}: ${diff.old.dir} (${diff.old.version}) → ${diff.new.dir} (${diff.new.version})`);
  return `${lines.join('\n')}\n`;
}

/** A pull-request comment: a heading that says it all, then a table per direction and kind of edge. */
export function renderDiffMarkdown(diff: DiffJson): string {
  const people = diff.inventory.users > 0 ? `, ${diff.inventory.users} ${diff.inventory.users === 1 ? 'person' : 'people'}` : '';
  const acting = diff.inventory.delegations > 0 ? `, ${diff.inventory.delegations} delegations (a workload acting for someone)` : '';
  const out = [
    `### gatehouse diff: ${summaryText(diff)}`,
    '',
    `${escapeMarkdown(diff.old.dir)} (${diff.old.version}, ${diff.old.policies} policies) → ${escapeMarkdown(diff.new.dir)} (${diff.new.version}, ${diff.new.policies} policies), ` +
      `over ${diff.inventory.workloads} workloads${people} and the anonymous caller${acting} × ${diff.inventory.services} services of ${escapeMarkdown(diff.inventory.file)}.`,
  ];
  const table = (title: string, edges: readonly ChangedEdge[], direction: Direction, columns: [string, string]): void => {
    const own = edges.filter((edge) => edge.kind === 'access');
    const delegated = edges.filter((edge) => edge.kind === 'delegation');
    if (own.length > 0) {
      out.push('', `#### ${title} (${own.length})`, '', `| caller | service | method | requests | ${columns[0]} | ${columns[1]} |`, '|---|---|---|---|---|---|');
      for (const edge of own) out.push(`| ${markdownCells(edge, direction).join(' | ')} |`);
    }
    if (delegated.length > 0) {
      out.push('', `#### ${title} through delegation (${delegated.length})`, '', `| actor | acting for | service | method | requests | ${columns[0]} | ${columns[1]} |`, '|---|---|---|---|---|---|---|');
      for (const edge of delegated) out.push(`| ${markdownCells(edge, direction).join(' | ')} |`);
    }
  };
  table('Granted', diff.granted, 'granted', ['allowed by (new)', 'denied before by (old)']);
  table('Revoked', diff.revoked, 'revoked', ['allowed before by (old)', 'denied by (new)']);
  const errors = diff.errors.old.length + diff.errors.new.length;
  if (errors > 0) out.push('', `${errors} policy evaluation errors on representative requests: see \`--format json\`.`);
  return `${out.join('\n')}\n`;
}

function summaryText(diff: DiffJson): string {
  const { granted, revoked } = diff.summary;
  return granted === 0 && revoked === 0 ? 'no access granted or revoked' : `${granted} granted, ${revoked} revoked`;
}

function edgeText(edge: ChangedEdge, direction: Direction): string {
  const [allowedBy, deniedBy] = responsible(edge, direction);
  const [allowedIn, deniedIn] = direction === 'granted' ? ['new', 'old'] : ['old', 'new'];
  const denied = deniedBy.length === 0 ? 'no permit applies' : `denied by ${deniedBy.join(', ')}`;
  return `${callerText(edge)} ${edge.service} ${edge.action} ${requestsText(edge.when)}  (${allowedIn}: allowed by ${list(allowedBy, '–')}; ${deniedIn}: ${denied})`;
}

/** The principal, or the actor `acting for` the principal. */
function callerText(edge: ChangedEdge): string {
  switch (edge.kind) {
    case 'access':
      return edge.principal;
    case 'delegation':
      return `${edge.actor} acting for ${edge.principal}`;
    default:
      return unreachable(edge);
  }
}

function markdownCells(edge: ChangedEdge, direction: Direction): string[] {
  const [allowedBy, deniedBy] = responsible(edge, direction);
  const change = [edge.service, edge.action, requestsText(edge.when), list(allowedBy, '–'), list(deniedBy, 'no permit')];
  switch (edge.kind) {
    case 'access':
      return [edge.principal, ...change].map(escapeMarkdown);
    case 'delegation':
      return [edge.actor, edge.principal, ...change].map(escapeMarkdown);
    default:
      return unreachable(edge);
  }
}

/** The policies that allow the edge's requests (on the side where they are allowed), and those that deny them on the other side. */
function responsible(edge: ChangedEdge, direction: Direction): [readonly string[], readonly string[]] {
  return direction === 'granted' ? [edge.policies.new, edge.policies.old] : [edge.policies.old, edge.policies.new];
}

/** `every path`, or the representative request: its path, the condition it was made for, the headers and query parameters it carried. */
export function requestsText(when: Probe | null): string {
  if (when === null) return 'every path';
  const condition = when.condition === null ? 'a path no condition names' : when.condition;
  const tags = when.tags.map((tag) => `${tag.on === 'headers' ? 'header' : 'query'} ${tag.name}=${tag.value}`);
  return `${when.path} (${condition})${tags.length > 0 ? ` with ${tags.join(', ')}` : ''}`;
}

function list(ids: readonly string[], none: string): string {
  return ids.length === 0 ? none : ids.join(', ');
}

function unreachable(edge: never): never {
  throw new Error(`unknown edge kind ${JSON.stringify(edge)}`);
}
