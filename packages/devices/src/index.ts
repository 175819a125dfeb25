export { DeviceError, type DeviceErrorCode } from './errors.js';
export { IoBus, IO_PORT_COUNT, type IoHandler, type IoRegistration } from './io-bus.js';
export { IrqRouter, pulse, type InterruptAcknowledge, type IrqLine, type IrqListener } from './irq.js';
export { VirtualClock, type Clock, type Timer } from './clock.js';
export { StateReader, type Device, type DeviceState, type StateValue } from './device.js';
export { DebugConsole, DEBUG_CONSOLE_READBACK } from './debug-console.js';
export { DebugExit } from './debug-exit.js';
export { DualPic, PIC_CASCADE_IRQ, ELCR_MASTER_MASK, ELCR_SLAVE_MASK } from './pic8259.js';
export { Pit8254, PIT_FREQUENCY_HZ, pitTicksAt, pitTimeOfTick } from './pit8254.js';
export {
  SystemControlPortB,
  PORTB_TIMER2_GATE,
  PORTB_SPEAKER_ENABLE,
  PORTB_REFRESH_TOGGLE,
  PORTB_TIMER2_OUT,
  REFRESH_PERIOD_NS,
} from './port61.js';
