import { readFile } from 'node:fs/promises';
import { errorMessage } from '../errors.js';
import { parseInventory } from './inventory.js';

/** The inventory file parsed, or every problem with it (an unreadable file is one). */
export async function readInventory(file: string): Promise<ReturnType<typeof parseInventory>> {
  try {
    return parseInventory(await readFile(file, 'utf8'), file);
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot read the inventory: ${errorMessage(err)}`] };
  }
}
