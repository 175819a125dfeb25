export { DeviceError, type DeviceErrorCode } from './errors.js';
export { IoBus, IO_PORT_COUNT, type IoHandler, type IoRegistration } from './io-bus.js';
export { IrqRouter, pulse, type InterruptAcknowledge, type IrqLine, type IrqListener } from './irq.js';
export { VirtualClock, type Clock, type Timer } from './clock.js';
export { StateReader, type Device, type DeviceState, type StateValue } from './device.js';
export { DebugConsole, DEBUG_CONSOLE_READBACK } from './debug-console.js';
export { DebugExit } from './debug-exit.js';
export { DualPic, PIC_CASCADE_IRQ, ELCR_MASTER_MASK, ELCR_SLAVE_MASK } from './pic8259.js';
