/**
 * The question one Check asks of the policy set, in Cedar's JSON form: entity references as
 * `{ __entity }`, extensions as `{ __extn }`. Plain data, built by src/policy/entities.ts and
 * carried back with the answer, so `gatehouse check` explains the very request Cedar evaluated.
 */
export type CedarValue = string | number | boolean | CedarValue[] | CedarRecord;
export type CedarRecord = { [key: string]: CedarValue };

/** `Type::"id"`. */
export type EntityUid = { type: string; id: string };

export type CedarEntity = {
  uid: EntityUid;
  attrs: CedarRecord;
  parents: EntityUid[];
  tags?: Record<string, string>;
};

/** Everything one authorization call needs besides the policy set, shaped as policies/schema.cedarschema says. */
export type CedarRequest = {
  principal: EntityUid;
  action: EntityUid;
  resource: EntityUid;
  context: CedarRecord;
  entities: CedarEntity[];
};
