import type { Fallbacks } from "../models";

/**
 * How often the conversion had to fall back from the first place the rules name. A first sync against
 * an upstream whose exact shape nobody has seen shows here whether the readers found what they expected
 * (the dry run reports it).
 */
export type { Fallbacks };

export function emptyFallbacks(): Fallbacks {
  return {
    diseaseGroup: { extension: 0, typeText: 0, typeCodingDisplay: 0, none: 0 },
    rank: { extension: 0, position: 0 },
    unresolvedCanonicals: 0,
    reimbursementWithoutArticleNumbers: 0,
  };
}
