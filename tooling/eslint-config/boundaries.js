// The direction of dependencies between tsvm's packages (see ARCHITECTURE.md).
// Key: a workspace package. Value: the @tsvm packages it may import. Anything else is refused by
// the lint rule below and by the repository check in boundaries.test.ts.

const DECODER = '@tsvm/x86-decoder';
const MMU = '@tsvm/mmu';
const STORAGE = '@tsvm/storage';
const CPU = '@tsvm/cpu';
const DEVICES = '@tsvm/devices';
const VMM = '@tsvm/vmm';

/** @type {Readonly<Record<string, readonly string[]>>} */
export const ALLOWED_DEPENDENCIES = Object.freeze({
  [DECODER]: [],
  [MMU]: [],
  [STORAGE]: [],
  [CPU]: [DECODER, MMU],
  // Devices see only the seams they need: MMIO regions (mmu) and block devices (storage). Never the CPU.
  [DEVICES]: [MMU, STORAGE],
  [VMM]: [DECODER, MMU, STORAGE, CPU, DEVICES],
  tsvm: [DECODER, MMU, STORAGE, CPU, DEVICES, VMM],
  tsvmd: [DECODER, MMU, STORAGE, CPU, DEVICES, VMM],
  'tsvm-lab': [DECODER, MMU, STORAGE, CPU, DEVICES, VMM],
});

export const TSVM_PACKAGES = Object.freeze([DECODER, MMU, STORAGE, CPU, DEVICES, VMM]);

/**
 * The @tsvm packages `name` must not import.
 * @param {string} name
 * @returns {string[]}
 */
export function forbiddenDependencies(name) {
  const allowed = ALLOWED_DEPENDENCIES[name];
  if (allowed === undefined) return [...TSVM_PACKAGES];
  return TSVM_PACKAGES.filter((p) => p !== name && !allowed.includes(p));
}
