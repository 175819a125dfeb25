/**
 * What the policy answers for one access. Larger is stricter: rules covering the same resource
 * combine by taking the largest, so any deny wins and the order of the rules does not matter.
 */
export const DECIDE_ALLOW = 0;
/** Allowed, and recorded as an event. */
export const DECIDE_ALLOW_LOG = 1;
/** Not performed (reads all-ones, writes dropped); the VM is paused and an event raised. */
export const DECIDE_TRAP = 2;
/** Not performed: reads return all-ones, writes are dropped. */
export const DECIDE_DENY = 3;
/** Not performed: #GP(0) is raised in the guest. */
export const DECIDE_DENY_GP = 4;

export type Decision = typeof DECIDE_ALLOW | typeof DECIDE_ALLOW_LOG | typeof DECIDE_TRAP | typeof DECIDE_DENY | typeof DECIDE_DENY_GP;

/** Names of the decisions, indexed by value, as they appear in events and counters. */
export const DECISION_NAMES = ['allow', 'allow-and-log', 'trap', 'deny', 'deny-gp'] as const;
export type DecisionName = (typeof DECISION_NAMES)[number];

/** The decision of a rule's effect. */
export function decisionOf(effect: 'allow' | 'allow-and-log' | 'trap' | 'deny', gp: boolean): Decision {
  switch (effect) {
    case 'allow':
      return DECIDE_ALLOW;
    case 'allow-and-log':
      return DECIDE_ALLOW_LOG;
    case 'trap':
      return DECIDE_TRAP;
    case 'deny':
      return gp ? DECIDE_DENY_GP : DECIDE_DENY;
  }
}

/** Rule index of "claimed by a configured device, no rule": allowed. */
export const RULE_CLAIMED = 0;
/** Rule index of "claimed by no device, no rule": `access.unclaimed`. */
export const RULE_UNCLAIMED = 1;
/** Rule `i` of the document has index `RULE_FIRST + i`. */
export const RULE_FIRST = 2;
