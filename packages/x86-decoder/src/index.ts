export { DecoderError, type DecoderErrorCode } from './errors.js';
export { decode, decode64, resetInstruction } from './decoder.js';
export { Instruction } from './instruction.js';
export { formatIntel } from './format/intel-formatter.js';
export { elfText, type TextSection } from './elf.js';
export { DecodeError, DECODE_ERROR_NAMES } from './decode-error.js';
export { OpKind, OP_KIND_NAMES } from './op-kind.js';
export { Prefix, Eflags } from './prefix.js';
export { Register, RegClass, REGISTER_NAMES, reg, registerByName } from './register.js';
export {
  Code,
  CODE_NAMES,
  CODE_MNEMONIC,
  CODE_CPU_FEATURE,
  CODE_OP_SIZE,
  CODE_FLAGS_READ,
  CODE_FLAGS_WRITTEN,
  CODE_FLAGS_UNDEFINED,
  CODE_FLAGS_CLEARED,
  CODE_FLAGS_SET,
  CODE_SHOW_MEM_SIZE,
} from './generated/code.js';
export { Mnemonic, MNEMONIC_NAMES } from './generated/mnemonic.js';
export { MemorySize, MEMORY_SIZE_NAMES, MEMORY_SIZE_BYTES } from './generated/memory-size.js';
export { CpuFeature, CPU_FEATURE_NAMES } from './generated/cpu-feature.js';
