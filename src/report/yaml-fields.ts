/** Helpers for reading a YAML document field by field, with messages that name the field and what was found. */

/** A key path into the document: `["workloads", 0, "class"]`. */
export type FieldPath = readonly (string | number)[];
export type ReportProblem = (path: FieldPath, message: string) => void;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as a message shows it: quoted, and cut at 80 characters. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return quote(value);
}

/** `workloads[0].class: `, the prefix of a message about that field. */
export function formatPath(path: FieldPath): string {
  if (path.length === 0) return '';
  const text = path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
  return `${text}: `;
}

/** Entries carry their index in the file's list, so a message points at the right entry even when others were refused. */
export function reportDuplicates(entries: readonly { index: number; name: string }[], list: string, field: string | undefined, problem: ReportProblem): void {
  const first = new Map<string, number>();
  for (const { index, name } of entries) {
    const seen = first.get(name);
    if (seen === undefined) first.set(name, index);
    else problem(field === undefined ? [list, index] : [list, index, field], `duplicate of ${list}[${seen}]`);
  }
}
