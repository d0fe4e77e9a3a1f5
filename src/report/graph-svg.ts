import { escapeHtml as h } from './escape.js';

export interface GraphNode {
  /** Unique within the graph; edges refer to it. */
  readonly id: string;
  readonly label: string;
  /** Shown on hover: the full principal or service name. */
  readonly title: string;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** `allow` when some action is allowed on every path, else `conditional`. */
  readonly access: 'allow' | 'conditional';
  /** Whether the log shows an allowed request on this edge. */
  readonly used: boolean;
  readonly title: string;
  /** `data-*` attributes the page's filters read (name without `data-`). */
  readonly data: Readonly<Record<string, string>>;
}

const rowHeight = 22;
const top = 34;
const width = 1000;
const leftX = 330;
const rightX = 670;
const maxLabel = 44;

/**
 * Identities on the left, services on the right, one curve per (identity, service) pair with
 * access: solid when some action is allowed on every path, dashed when only on some; green when
 * the log shows it used, grey when not. Inline SVG, no script needed to draw it.
 */
export function renderGraph(identities: readonly GraphNode[], services: readonly GraphNode[], edges: readonly GraphEdge[]): string {
  const height = top + Math.max(identities.length, services.length, 1) * rowHeight + 10;
  const leftY = new Map(identities.map((node, index) => [node.id, top + index * rowHeight]));
  const rightY = new Map(services.map((node, index) => [node.id, top + index * rowHeight]));
  const curve = (y1: number, y2: number): string => `M${leftX},${y1} C${(leftX + rightX) / 2},${y1} ${(leftX + rightX) / 2},${y2} ${rightX},${y2}`;
  const edgeMarkup = edges
    .filter((edge) => leftY.has(edge.from) && rightY.has(edge.to))
    .map((edge) => {
      const data = Object.entries(edge.data)
        .map(([name, value]) => ` data-${name}="${h(value)}"`)
        .join('');
      const classes = `edge ${edge.access === 'allow' ? 'e-allow' : 'e-cond'} ${edge.used ? 'e-used' : 'e-unused'}`;
      return `<path class="${classes}" data-from="${h(edge.from)}" data-to="${h(edge.to)}"${data} d="${curve(leftY.get(edge.from)!, rightY.get(edge.to)!)}"><title>${h(edge.title)}</title></path>`;
    });
  const node = (item: GraphNode, y: number, side: 'left' | 'right'): string => {
    const x = side === 'left' ? leftX : rightX;
    const textX = side === 'left' ? x - 8 : x + 8;
    const anchor = side === 'left' ? 'end' : 'start';
    return `<g class="node" data-id="${h(item.id)}"><title>${h(item.title)}</title><circle cx="${x}" cy="${y}" r="4"/><text x="${textX}" y="${y + 4}" text-anchor="${anchor}">${h(cut(item.label))}</text></g>`;
  };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" id="graph-svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="identity to service graph">`,
    `<text class="col-head" x="${leftX}" y="16" text-anchor="end">identities</text><text class="col-head" x="${rightX}" y="16">services</text>`,
    ...edgeMarkup,
    ...identities.map((item, index) => node(item, top + index * rowHeight, 'left')),
    ...services.map((item, index) => node(item, top + index * rowHeight, 'right')),
    '</svg>',
  ].join('\n');
}

function cut(label: string): string {
  return label.length > maxLabel ? `…${label.slice(label.length - maxLabel + 1)}` : label;
}
