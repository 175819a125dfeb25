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
export {
  Uart16550,
  COM_PORTS,
  UART_FIFO_SIZE,
  UART_HOST_QUEUE_SIZE,
  IER_RDI,
  IER_THRI,
  IER_RLSI,
  IER_MSI,
  IIR_NO_INTERRUPT,
  IIR_LINE_STATUS,
  IIR_RX_DATA,
  IIR_RX_TIMEOUT,
  IIR_THR_EMPTY,
  IIR_MODEM_STATUS,
  LCR_DLAB,
  MCR_DTR,
  MCR_RTS,
  MCR_OUT1,
  MCR_OUT2,
  MCR_LOOP,
  LSR_DR,
  LSR_OE,
  LSR_PE,
  LSR_FE,
  LSR_BI,
  LSR_THRE,
  LSR_TEMT,
  LSR_FIFO_ERROR,
  MSR_DCTS,
  MSR_DDSR,
  MSR_TERI,
  MSR_DDCD,
  MSR_CTS,
  MSR_DSR,
  MSR_RI,
  MSR_DCD,
  type ModemInputs,
} from './uart16550.js';
