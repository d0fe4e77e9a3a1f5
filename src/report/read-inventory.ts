import { readFile } from 'node:fs/promises';
import { parseInventory } from './inventory.js';

/** The inventory file parsed, or every problem with it (an unreadable file is one). */
export async function readInventory(file: string): Promise<ReturnType<typeof parseInventory>> {
  try {
    return parseInventory(await readFile(file, 'utf8'), file);
  } catch (err) {
    // Node's fs errors carry the path and code in `message`.
    const message = (err as { message?: unknown } | null)?.message;
    return { ok: false, problems: [`${file}: cannot read the inventory: ${typeof message === 'string' ? message : String(err)}`] };
  }
}
