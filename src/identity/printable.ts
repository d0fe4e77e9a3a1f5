/** A short, printable rendering of an untrusted value for error details. */
export function quote(value: unknown): string {
  return JSON.stringify(printable(String(value), 64));
}

/** `text` without control characters, cut to `maxLength`. */
export function printable(text: string, maxLength: number): string {
  // eslint-disable-next-line no-control-regex
  const shown = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  return shown.length > maxLength ? `${shown.slice(0, maxLength)}…` : shown;
}
