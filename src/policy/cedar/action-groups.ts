import { schemaToJson } from '@cedar-policy/cedar-wasm/nodejs';

/** `Action::"GET"` → every action group it is in, directly or through other groups. */
export type ActionAncestors = ReadonlyMap<string, ReadonlySet<string>>;

interface ActionJson {
  readonly memberOf?: readonly { readonly id: string; readonly type?: string }[];
}

/**
 * The action hierarchy the schema declares, as Cedar itself reads it (its JSON form of the
 * schema). Undefined when the schema says something this does not model (actions in a named
 * namespace, or a group of another action type): callers must then assume any action may be in
 * any group.
 */
export function actionAncestors(schemaText: string): ActionAncestors | undefined {
  const answer = schemaToJson(schemaText);
  if (answer.type === 'failure') return undefined;
  const namespaces = answer.json as Readonly<Record<string, { readonly actions?: Readonly<Record<string, ActionJson>> }>>;
  const parents = new Map<string, string[]>();
  for (const [namespace, fragment] of Object.entries(namespaces)) {
    const actions = Object.entries(fragment.actions ?? {});
    if (namespace !== '' && actions.length > 0) return undefined;
    for (const [id, action] of actions) {
      const memberOf = action.memberOf ?? [];
      if (memberOf.some((group) => group.type !== undefined && group.type !== 'Action')) return undefined;
      parents.set(actionRef(id), memberOf.map((group) => actionRef(group.id)));
    }
  }
  return new Map([...parents.keys()].map((action) => [action, closure(action, parents)]));
}

export function actionRef(id: string): string {
  return `Action::${JSON.stringify(id)}`;
}

function closure(action: string, parents: ReadonlyMap<string, readonly string[]>): ReadonlySet<string> {
  const seen = new Set<string>();
  const pending = [...(parents.get(action) ?? [])];
  while (pending.length > 0) {
    const group = pending.pop()!;
    if (seen.has(group)) continue;
    seen.add(group);
    pending.push(...(parents.get(group) ?? []));
  }
  return seen;
}
