import type { DecisionRecord } from './decision-record.js';

/**
 * One decision record as one line of JSON, free of every control or line-breaking character.
 * Spelled field by field rather than by JSON.stringify over the record, which cost more than the
 * rest of the record step together (issue #16). It is the same text as JSON.stringify of the
 * fields in docs/reference.md's order with the characters below escaped, as lines were before
 * (test/log/decision-line.test.ts holds the two equal, every UTF-16 code unit among the values).
 */
export function decisionLine(entry: DecisionRecord): string {
  let line = `{"time":${timeJson(entry.time)},"decisionId":${jsonString(entry.decisionId)},"requestId":${jsonString(entry.requestId)}`;
  line += whoPart(entry);
  line += `,"action":${jsonString(entry.action)},"resource":${jsonString(entry.resource)},"path":${jsonString(entry.path)}`;
  line += outcomePart(entry);
  line += `,"durationMs":${jsonNumber(entry.durationMs)}`;
  line += whyPart(entry);
  if (entry.traceId !== undefined) line += `,"traceId":${jsonString(entry.traceId)}`;
  if (entry.spanId !== undefined) line += `,"spanId":${jsonString(entry.spanId)}`;
  return `${line}}`;
}

/*
 * A caller's lines repeat who it is, what was decided and why: each of those parts is spelled
 * again only when one of its fields differs from the line before (compared with ===, cheaper than
 * spelling it). Fields that are objects (a delegation, errors) never match another line's, so a
 * line with them is spelled whole.
 */

let lastTime = '';
let lastTimeJson = '""';

/** The time, spelled once for the Checks of one millisecond (which share its string). */
function timeJson(time: string): string {
  if (time !== lastTime) {
    lastTime = time;
    lastTimeJson = flat(jsonString(time));
  }
  return lastTimeJson;
}

/**
 * `text` as one flat string. Concatenation makes a tree of pieces, and every line that includes
 * a reused part would walk that part's tree again when the batch is joined; flattened once, it
 * is copied as one piece. V8 flattens a string to run a regular expression on it.
 */
function flat(text: string): string {
  flattening.test(text);
  return text;
}

const flattening = /^/;

let lastWho: Pick<DecisionRecord, 'principal' | 'class' | 'authn' | 'actor' | 'actorClass'> | undefined;
let lastWhoJson = '';

/** `principal` to `delegation`. */
function whoPart(entry: DecisionRecord): string {
  const last = lastWho;
  if (last !== undefined && entry.delegation === undefined && entry.principal === last.principal && entry.class === last.class && entry.authn === last.authn && entry.actor === last.actor && entry.actorClass === last.actorClass) {
    return lastWhoJson;
  }
  let part = `,"principal":${jsonString(entry.principal)}`;
  if (entry.class !== undefined) part += `,"class":${jsonString(entry.class)}`;
  part += `,"authn":${jsonString(entry.authn)}`;
  if (entry.actor !== undefined) part += `,"actor":${jsonString(entry.actor)}`;
  if (entry.actorClass !== undefined) part += `,"actorClass":${jsonString(entry.actorClass)}`;
  if (entry.delegation !== undefined) {
    lastWho = undefined;
    return `${part},"delegation":{"depth":${jsonNumber(entry.delegation.depth)},"actors":${jsonStrings(entry.delegation.actors)}}`;
  }
  lastWho = { principal: entry.principal, class: entry.class, authn: entry.authn, actor: entry.actor, actorClass: entry.actorClass };
  lastWhoJson = flat(part);
  return part;
}

let lastOutcome: Pick<DecisionRecord, 'decision' | 'policies' | 'mode'> | undefined;
let lastOutcomeJson = '';

/** `decision` to `mode`. `policies` is a decision-cache entry's own array, so a repeat is the same array. */
function outcomePart(entry: DecisionRecord): string {
  const last = lastOutcome;
  if (last !== undefined && entry.errors.length === 0 && entry.decision === last.decision && entry.policies === last.policies && entry.mode === last.mode) return lastOutcomeJson;
  let part = `,"decision":${jsonString(entry.decision)},"policies":${jsonStrings(entry.policies)},"errors":[`;
  for (let i = 0; i < entry.errors.length; i++) {
    const error = entry.errors[i]!;
    part += `${i === 0 ? '' : ','}{"policy":${jsonString(error.policy)},"message":${jsonString(error.message)}}`;
  }
  part += `],"mode":${jsonString(entry.mode)}`;
  lastOutcome = entry.errors.length === 0 ? { decision: entry.decision, policies: entry.policies, mode: entry.mode } : undefined;
  lastOutcomeJson = flat(part);
  return part;
}

let lastWhy: Pick<DecisionRecord, 'reason' | 'detail' | 'policyVersion' | 'wire'> | undefined;
let lastWhyJson = '';

/** `reason` to `wire`. */
function whyPart(entry: DecisionRecord): string {
  const last = lastWhy;
  if (last !== undefined && entry.reason === last.reason && entry.detail === last.detail && entry.policyVersion === last.policyVersion && entry.wire === last.wire) return lastWhyJson;
  let part = `,"reason":${jsonString(entry.reason)},"detail":${jsonString(entry.detail)},"policyVersion":${jsonString(entry.policyVersion)}`;
  if (entry.wire !== undefined) part += `,"wire":${jsonString(entry.wire)}`;
  lastWhy = { reason: entry.reason, detail: entry.detail, policyVersion: entry.policyVersion, wire: entry.wire };
  lastWhyJson = flat(part);
  return part;
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
