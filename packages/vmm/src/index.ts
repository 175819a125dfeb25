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
export { IDLE_GIVE_UP_NS, Machine, MAX_SLICE, type MachineExit, type MachineOptions, type RunOptions } from './machine.js';
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
