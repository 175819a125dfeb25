export { VmmError, type VmmErrorCode } from './errors.js';
export { DeterministicTime, RealTime, type TimeSource } from './time-source.js';
export {
  DEFAULT_MEMORY,
  MIN_MEMORY,
  resolveConfig,
  type BootSource,
  type MachineConfig,
  type MultibootModule,
  type ResolvedMachineConfig,
} from './config.js';
export { IDLE_GIVE_UP_NS, Machine, MAX_SLICE, type MachineExit, type MachineOptions, type RunOptions, TSC_HZ } from './machine.js';
export { bootSourceOf, createPolicyMachine, machineFromPolicy, type PolicyMachine } from './policy/machine-from-policy.js';
export { attachPolicy, type AttachedPolicy, type PolicyTarget } from './policy/attach-policy.js';
export { MmioGuard } from './policy/mmio-guard.js';
export { LineSplitter, MAX_WATCHED_LINE, watchUartOutput } from './policy/console-watch.js';
export { readContainer, SNAPSHOT_FORMAT_VERSION, SNAPSHOT_MAGIC, writeContainer } from './snapshot/container.js';
export {
  bootDigest,
  parseSnapshot,
  saveMachineSnapshot,
  SNAPSHOT_META_VERSION,
  type DiskReference,
  type ParsedSnapshot,
  type SnapshotMeta,
} from './snapshot/machine-snapshot.js';
export { cloneFromSnapshot, MAX_CLONES, type Clone, type CloneOptions } from './snapshot/clone.js';
export {
  PcBoard,
  PORT_DEBUG_CONSOLE,
  PORT_DEBUG_EXIT,
  PORT_RESET_CONTROL,
  type BoardEvents,
  type BoardOptions,
  type ResetSource,
} from './pc-board.js';
export { BusPorts, ControllerInterrupts, TracingPorts, type PortAccess, type PortTrace } from './cpu-bus.js';
export { formatInstructionAt } from './instruction-trace.js';
export { ISA_BIOS_WINDOW, loadRom, MAX_ROM_SIZE } from './boot/rom.js';
export { parseBzImage, type BzImage } from './boot/bzimage.js';
export { BOOT_PARAMS_ADDR, CMDLINE_ADDR, KERNEL_LOAD_ADDR, loadLinux, type LinuxBootSource, type LinuxLayout } from './boot/linux.js';
export {
  findMultibootHeader,
  loadMultiboot,
  MULTIBOOT_BOOTLOADER_MAGIC,
  MULTIBOOT_HEADER_MAGIC,
  type MultibootBootSource,
  type MultibootHeader,
  type MultibootLayout,
} from './boot/multiboot.js';
export { parseElf32, isElf, type Elf32Image, type ElfSegment } from './boot/elf32.js';
export { E820_RAM, E820_RESERVED, pcMemoryMap, type E820Entry } from './boot/e820.js';
export { BOOT_CS, BOOT_DS, flatProtectedMode } from './boot/protected-mode.js';
export { kernelKind, MAX_BOOT_FILE, readBootFile } from './boot-files.js';
export {
  ACCESS_ACTIONS,
  BOOT_DEVICES,
  DISK_FORMATS,
  EFFECTS,
  EVENT_ACTIONS,
  MAX_RULES,
  POLICY_VERSION,
  policySchema,
  type AccessAction,
  type AccessRule,
  type Effect,
  type EventAction,
  type PolicyDocument,
  type PolicyInput,
  type RateLimitConfig,
  type TokenBucketConfig,
} from './policy/schema.js';
export { parsePolicy, validatePolicy } from './policy/load.js';
export {
  DECIDE_ALLOW,
  DECIDE_ALLOW_LOG,
  DECIDE_DENY,
  DECIDE_DENY_GP,
  DECIDE_TRAP,
  DECISION_NAMES,
  type Decision,
  type DecisionName,
} from './policy/decision.js';
export { CompiledPolicy, compilePolicy, type MmioClaim, type PolicyClaims } from './policy/compiled-policy.js';
export { VmPolicy, type PolicyHooks, type VmPolicyOptions } from './policy/vm-policy.js';
export { applyPolicyToBus, ioClaimsOf, PolicyIoBus, type PortBus } from './policy/policy-io-bus.js';
export { RateLimiter, TokenBucket } from './policy/token-bucket.js';
export { CpuLimiter } from './policy/cpu-limiter.js';
export { RateLimitedDevice, type LimiterClock } from './policy/rate-limited-device.js';
export { machineConfigOf, mergeRunFlags, policyFromRunFlags, RUN_FLAG_FIELDS, type RunCharTarget, type RunFlags } from './policy/run-flags.js';
export {
  DEFAULT_EVENT_CAPACITY,
  EVENT_KINDS,
  EventLog,
  type EventContext,
  type EventKind,
  type EventRequest,
  type EventSubscriber,
  type VmEvent,
} from './events/event-log.js';
export { attachIde, IDE_SLOTS, type IdeDrive, type IdeSlot, type IdeWiring } from './disks/attach-ide.js';
export { ideSlotOf, openDrives } from './disks/open-drives.js';
export { attachFirmware, writeBootOrder, type FirmwareFacts } from './firmware/attach-firmware.js';
export { defaultBiosPath, SEABIOS_DIR } from './firmware/default-bios.js';
export { ShadowRam } from './firmware/shadow-ram.js';
export { attachVga, ISA_VGA_ROM_FILE, VGA_WINDOW_BASE, VGA_WINDOW_SIZE, type VgaWiring } from './firmware/attach-vga.js';
