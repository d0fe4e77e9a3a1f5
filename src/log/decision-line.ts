import type { DecisionRecord } from './decision-record.js';

/**
 * One decision record as one line of JSON, free of every control or line-breaking character.
 * Spelled field by field rather than by JSON.stringify over the record, which cost more than the
 * rest of the record step together (issue #16). It is the same text as JSON.stringify of the
 * fields in docs/reference.md's order with the characters below escaped, as lines were before
 * (test/log/decision-line.test.ts holds the two equal, every UTF-16 code unit among the values).
 */
export function decisionLine(entry: DecisionRecord): string {
  let line = `{"time":${jsonString(entry.time)},"decisionId":${jsonString(entry.decisionId)},"requestId":${jsonString(entry.requestId)},"principal":${jsonString(entry.principal)}`;
  if (entry.class !== undefined) line += `,"class":${jsonString(entry.class)}`;
  line += `,"authn":${jsonString(entry.authn)}`;
  if (entry.actor !== undefined) line += `,"actor":${jsonString(entry.actor)}`;
  if (entry.actorClass !== undefined) line += `,"actorClass":${jsonString(entry.actorClass)}`;
  if (entry.delegation !== undefined) line += `,"delegation":{"depth":${jsonNumber(entry.delegation.depth)},"actors":${jsonStrings(entry.delegation.actors)}}`;
  line += `,"action":${jsonString(entry.action)},"resource":${jsonString(entry.resource)},"path":${jsonString(entry.path)},"decision":${jsonString(entry.decision)}`;
  line += `,"policies":${jsonStrings(entry.policies)},"errors":[`;
  for (let i = 0; i < entry.errors.length; i++) {
    const error = entry.errors[i]!;
    line += `${i === 0 ? '' : ','}{"policy":${jsonString(error.policy)},"message":${jsonString(error.message)}}`;
  }
  line += `],"mode":${jsonString(entry.mode)},"durationMs":${jsonNumber(entry.durationMs)},"reason":${jsonString(entry.reason)},"detail":${jsonString(entry.detail)}`;
  line += `,"policyVersion":${jsonString(entry.policyVersion)}`;
  if (entry.wire !== undefined) line += `,"wire":${jsonString(entry.wire)}`;
  if (entry.traceId !== undefined) line += `,"traceId":${jsonString(entry.traceId)}`;
  if (entry.spanId !== undefined) line += `,"spanId":${jsonString(entry.spanId)}`;
  return `${line}}`;
}

/** What a string needs JSON's escaping (or ours) for; most values have none and are quoted as they are. */
// eslint-disable-next-line no-control-regex
const needsEscape = /[\u0000-\u001f"\\\u007f-\u009f\u2028\u2029\ud800-\udfff]/;

// JSON.stringify leaves DEL, the C1 controls (NEL, CSI…) and U+2028/U+2029 raw, and log tools
// and terminals may break lines or act on them. The \u escape is the same value in JSON.
const rawInJson = /[\u007f-\u009f\u2028\u2029]/;
const everyRawInJson = new RegExp(rawInJson.source, 'g');

/** The last string that needed escaping and its spelling: a workload's lines repeat its principal. */
let lastEscaped = '';
let lastEscapedJson = '""';

/**
 * A string as JSON.stringify spells it (lone surrogates as \u escapes), with the characters above
 * escaped too. A principal always has quotes to escape and seldom anything else, so the search
 * for the rest comes before the replacing.
 */
function jsonString(value: string): string {
  if (!needsEscape.test(value)) return `"${value}"`;
  if (value === lastEscaped) return lastEscapedJson;
  const json = JSON.stringify(value);
  lastEscaped = value;
  lastEscapedJson = rawInJson.test(json) ? json.replace(everyRawInJson, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
  return lastEscapedJson;
}

function jsonStrings(values: readonly string[]): string {
  let list = '[';
  for (let i = 0; i < values.length; i++) list += `${i === 0 ? '' : ','}${jsonString(values[i]!)}`;
  return `${list}]`;
}

/** As JSON.stringify spells a number: NaN and the infinities as null. */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}
