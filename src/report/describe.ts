import type { MatrixCell, Probe } from './access-matrix.js';

/** A representative request in words: `path like "/api/orders/*" with header x-tenant="acme"`. */
function describeProbe(probe: Probe): string {
  const path = probe.condition === null ? `path ${JSON.stringify(probe.path)}` : `path ${probe.condition}`;
  const tags = probe.tags.map((tag) => `${tag.on === 'headers' ? 'header' : 'query'} ${tag.name}=${JSON.stringify(tag.value)}`);
  return tags.length === 0 ? path : `${path} with ${tags.join(', ')}`;
}

/** What a conditional cell needs, as one line; '' for an allow. */
export function describeConditions(cell: MatrixCell): string {
  if (cell.access === 'allow') return '';
  const allowed = [...new Set(cell.allowedWhen.map(describeProbe))];
  return `only for ${allowed.join('; ')}`;
}

/** The cells of one (principal, service) pair, actions with the same access grouped: `GET, HEAD: only for path like "/a/*"`. */
export function describePair(cells: readonly MatrixCell[]): string[] {
  const groups = new Map<string, string[]>();
  for (const cell of cells) {
    const text = cell.access === 'allow' ? 'any path' : describeConditions(cell);
    const actions = groups.get(text);
    if (actions === undefined) groups.set(text, [cell.action]);
    else actions.push(cell.action);
  }
  return [...groups].map(([text, actions]) => `${actions.join(', ')}: ${text}`);
}
