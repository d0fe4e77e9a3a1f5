/** A plain JSON object (not null, not an array): the shape parsed claims and API objects must have. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
