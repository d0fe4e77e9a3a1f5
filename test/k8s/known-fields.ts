/**
 * Unknown-field detection for Kubernetes objects. kubernetes-models' schema validators check
 * types, enums and required fields but accept any extra key, so a misspelt `readinesProbe` would
 * pass them and then be refused by `kubectl apply` (strict field validation) or, worse, silently
 * dropped by an older server. @kubernetes/client-node (a runtime dependency already) carries the
 * field list of every API type, generated from the same OpenAPI document; walking an object
 * against it finds every key the API does not define.
 */
import * as models from '@kubernetes/client-node/dist/gen/models/all.js';

interface AttributeType {
  readonly baseName: string;
  readonly type: string;
}

interface ModelClass {
  getAttributeTypeMap(): AttributeType[];
}

/** Leaf types of the generated models: their values are not walked further. */
const leafTypes = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);

/** client-node's class name for a top-level object: `apps/v1` + `Deployment` → `V1Deployment`. */
export function modelTypeName(apiVersion: string, kind: string): string {
  const version = apiVersion.slice(apiVersion.lastIndexOf('/') + 1);
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

/** Every path in `value` that type `typeName` does not define, as `.spec.template.spec.containers[0].readinesProbe`. */
export function unknownFields(typeName: string, value: unknown, path = ''): string[] {
  if (leafTypes.has(typeName) || value === null || value === undefined) return [];

  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) {
    if (!Array.isArray(value)) return [`${path}: expected a list`];
    return value.flatMap((item, index) => unknownFields(array[1]!, item, `${path}[${index}]`));
  }

  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map) {
    if (!isRecord(value)) return [`${path}: expected a mapping`];
    return Object.entries(value).flatMap(([key, item]) => unknownFields(map[1]!, item, `${path}.${key}`));
  }

  const model = (models as unknown as Record<string, ModelClass | undefined>)[typeName];
  if (typeof model?.getAttributeTypeMap !== 'function') return [`${path}: no API type ${typeName} in @kubernetes/client-node`];
  if (!isRecord(value)) return [`${path}: expected a mapping (${typeName})`];
  const fields = new Map(model.getAttributeTypeMap().map((attribute) => [attribute.baseName, attribute.type]));
  return Object.entries(value).flatMap(([key, item]) => {
    const fieldType = fields.get(key);
    return fieldType === undefined ? [`${path}.${key}: not a field of ${typeName}`] : unknownFields(fieldType, item, `${path}.${key}`);
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
