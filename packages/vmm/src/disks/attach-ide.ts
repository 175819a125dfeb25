import {
  AtaDisk,
  AtapiCdrom,
  BM_REGISTER_SPACE,
  IDE_COMMAND_BLOCK_SIZE,
  IDE_CONTROL_BLOCK_SIZE,
  IDE_PRIMARY,
  IDE_SECONDARY,
  IdeChannel,
  Piix3Ide,
  type IdeDevice,
  type IoRegistration,
} from '@tsvm/devices';
import type { PhysicalMemory } from '@tsvm/mmu';
import type { BlockDevice } from '@tsvm/storage';
import { VmmError } from '../errors.js';
import type { PcBoard } from '../pc-board.js';

/** QEMU's names for the four IDE positions: primary master/slave, secondary master/slave. */
export const IDE_SLOTS = ['hda', 'hdb', 'hdc', 'hdd'] as const;
export type IdeSlot = (typeof IDE_SLOTS)[number];

/** A drive on the IDE cables: a hard disk or a CD-ROM drive (with a disc, or empty). */
export interface IdeDrive {
  slot: IdeSlot;
  media: 'disk' | 'cdrom';
  /** The image; a CD-ROM drive may be empty. */
  device?: BlockDevice;
}

/** PIIX3 function 1 on the PCI bus: device 1 (the ISA bridge is function 0). */
const PIIX3_DEVICE = 1;
const PIIX3_IDE_FUNCTION = 1;

/** The IDE controller a board got: both channels and the PCI function with the bus masters. */
export interface IdeWiring {
  channels: [IdeChannel, IdeChannel];
  controller: Piix3Ide | undefined;
}

/**
 * Puts the drives on the PC's two legacy IDE channels (0x1F0/0x3F6 IRQ 14, 0x170/0x376 IRQ 15). On a
 * PCI board the channels belong to the PIIX3 IDE function at 00:01.1, whose bus master registers are
 * mapped wherever the firmware puts BAR4; without PCI they are plain ISA channels (PIO only).
 */
export function attachIde(board: PcBoard, memory: PhysicalMemory, drives: readonly IdeDrive[]): IdeWiring {
  const seen = new Set<IdeSlot>();
  const channels: [IdeChannel, IdeChannel] = [
    new IdeChannel({ irq: board.router.source(IDE_PRIMARY.irq), name: 'ide0' }),
    new IdeChannel({ irq: board.router.source(IDE_SECONDARY.irq), name: 'ide1' }),
  ];
  for (const drive of drives) {
    const index = IDE_SLOTS.indexOf(drive.slot);
    if (index < 0) throw new VmmError('InvalidConfig', `IDE drive slot ${JSON.stringify(drive.slot)} is not one of ${IDE_SLOTS.join(', ')}`);
    if (seen.has(drive.slot)) throw new VmmError('InvalidConfig', `two drives for IDE slot ${drive.slot}`);
    seen.add(drive.slot);
    let device: IdeDevice;
    if (drive.media === 'cdrom') device = new AtapiCdrom(drive.device, { name: `${drive.slot}-cdrom` });
    else {
      if (drive.device === undefined) throw new VmmError('InvalidConfig', `IDE hard disk ${drive.slot} has no image`);
      device = new AtaDisk(drive.device, { name: `${drive.slot}-disk` });
    }
    channels[index >> 1].attach((index & 1) as 0 | 1, device);
  }
  const blocks = [IDE_PRIMARY, IDE_SECONDARY];
  channels.forEach((channel, i) => {
    board.devices.push(channel);
    board.bus.register(`${channel.name}-command`, blocks[i].commandBase, IDE_COMMAND_BLOCK_SIZE, channel.commandBlock);
    board.bus.register(`${channel.name}-control`, blocks[i].controlBase, IDE_CONTROL_BLOCK_SIZE, channel.controlBlock);
  });
  const host = board.pciHost;
  if (host === undefined) return { channels, controller: undefined };
  const controller = new Piix3Ide({ primary: channels[0], secondary: channels[1], memory });
  let mapped: IoRegistration | undefined;
  controller.onBarChange = (bar, address) => {
    if (bar !== 4) return;
    if (mapped !== undefined) board.bus.unregister(mapped);
    mapped = undefined;
    // A BAR the guest points at ports another device claims stays unmapped (the PCI bus would conflict too).
    if (address > 0 && address + BM_REGISTER_SPACE <= 0x1_0000 && board.bus.ownerOf(address) === undefined) {
      mapped = board.bus.register('piix3-ide-bm', address, BM_REGISTER_SPACE, controller.ports);
    }
  };
  host.attach(controller, PIIX3_DEVICE, PIIX3_IDE_FUNCTION);
  return { channels, controller };
}
