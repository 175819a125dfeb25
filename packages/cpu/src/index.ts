export { CpuError, type CpuErrorCode } from './errors.js';
export { Cpu, type StopReason, unsupportedCodes } from './interpreter.js';
export { Debugger, type InstructionWatch, type TraceRecord } from './debugger.js';
export { type ApicBaseMsr, type MsrEntry } from './msr.js';
export { type CpuOptions, CS, DS, ES, FS, GS, SS } from './cpu.js';
export { type IoPorts, type InterruptSource, type PhysicalMemory, NO_INTERRUPTS, NO_IO } from './bus.js';
export { type CpuModel, type CpuModelName, CPU_MODEL_NAMES, cpuModel } from './models.js';
export { type CpuState, type CpuStatePatch, type SegmentState, type TableRegister, getCpuState, setCpuState } from './state.js';
export { AF, CF, DF, IF, OF, PF, SF, TF, ZF } from './flags.js';
