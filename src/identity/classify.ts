import type { ClassRule } from '../config.js';
import type { WorkloadClass } from '../core/identity.js';
import type { SpiffeId } from '../core/spiffe-id.js';

export type WorkloadClassifier = (id: SpiffeId) => WorkloadClass;

/**
 * Config rules that give a workload its class (`service`, `build`, `automation`, `agent`): the first rule
 * whose every given field matches wins; no match is `unknown`. Kubernetes annotations, when
 * enabled, take precedence over these (see src/kubernetes).
 */
export function classifierFromRules(rules: readonly ClassRule[]): WorkloadClassifier {
  const compiled = rules.map((rule) => ({
    rule,
    path: rule.pathPattern === undefined ? undefined : globToRegExp(rule.pathPattern),
  }));
  return (id) => {
    for (const { rule, path } of compiled) {
      if (rule.trustDomain !== undefined && rule.trustDomain !== id.trustDomain) continue;
      if (rule.namespace !== undefined && rule.namespace !== id.kubernetesParts()?.namespace) continue;
      if (path && !path.test(id.path)) continue;
      return rule.class;
    }
    return 'unknown';
  };
}

/** `*` matches within one path segment, `**` across segments; everything else is literal. */
function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i += 1;
    } else if (ch === '*') {
      source += '[^/]*';
    } else {
      source += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}
