import { describe, expect, it } from 'vitest';
import { testMachine, type TestMachine } from './test-machine.js';

/** Hand-assembled programs (NASM source in the comments), loaded at physical 0x10000 (CS = 1000h). */
function bytes(hex: string): number[] {
  return hex.match(/../g)!.map((b) => parseInt(b, 16));
}

/** Writes an IDT gate at physical 0x11000 + 8 * vector: selector 08h, `type` 8Eh (interrupt) or 8Fh (trap). */
function gate(m: TestMachine, vector: number, offset: number, type: number): void {
  m.poke(0x11000 + vector * 8, [offset & 0xff, (offset >>> 8) & 0xff, 0x08, 0, 0, type, (offset >>> 16) & 0xff, offset >>> 24]);
}

const read32 = (m: TestMachine, addr: number): number => m.mem.read32(addr) >>> 0;

/*
 * bits 16                              gp_handler (67h):
 *   lgdt [cs:gdtr]                       pop edx
 *   lidt [cs:idtr]                       mov [edi], edx
 *   mov eax, cr0 / or al, 1              add edi, 4
 *   mov cr0, eax                         add dword [esp], 2   ; skip the 2-byte faulting instruction
 *   jmp dword 0x08:pm32                  iretd
 * bits 32                              gdt (72h):
 * pm32:                                  null
 *   mov ax, 0x10 / mov ds, ax / mov es, ax    08h code32 base 10000h limit FFFFh (9Ah, D)
 *   mov ax, 0x18 / mov ss, ax                 10h data base 0 limit 4G (92h, G, B)
 *   mov esp, 0x90000                          18h stack, the same
 *   mov dword [0x500], 0x12345678             20h data base 20000h limit FFFh (92h)
 *   call 0x08:farfn                         gdtr: limit 27h, base 10072h
 *   int 0x30                                idtr: limit 187h, base 11000h
 *   mov edi, 0x600
 *   mov ax, 0x28 / mov ds, ax     ; beyond the GDT limit: #GP(28h)
 *   mov ax, 0x20 / mov es, ax
 *   mov esi, 0xffe / es lodsd     ; beyond ES's limit: #GP(0)
 *   hlt
 * farfn:  mov ebx, 0xfeed / retf
 * int30 (61h):  mov ecx, 0x30 / iretd
 */
const ENTER_PM =
  '2e0f01169a002e0f011ea0000f20c00c010f22c066ea1c000000080066b810008ed88ec066b818008ed0bc00000900c7' +
  '0500050000785634129a5b0000000800cd30bf0006000066b828008ed866b820008ec0befe0f000026adf4bbedfe0000' +
  'cbb930000000cf5a891783c70483042402cf0000000000000000ffff0000019a4000ffff00000092cf00ffff00000092' +
  'cf00ff0f000002920000270072000100870100100100';

describe('protected mode: entry, segment loads, far transfers, IDT delivery', () => {
  function run(): TestMachine {
    const m = testMachine('p6', bytes(ENTER_PM));
    gate(m, 13, 0x67, 0x8e);
    gate(m, 0x30, 0x61, 0x8f);
    expect(m.cpu.run(200)).toBe('halt');
    return m;
  }

  it('enters protected mode with LGDT, MOV CR0 and a far JMP, loading the descriptor caches', () => {
    const m = run();
    const s = m.cpu.getState();
    expect(s.cr0 & 1).toBe(1);
    expect(s.cs).toEqual({ selector: 0x08, base: 0x10000, limit: 0xffff, attributes: 0x409b });
    expect(s.ss).toEqual({ selector: 0x18, base: 0, limit: 0xffffffff, attributes: 0xc093 });
    expect(s.es).toEqual({ selector: 0x20, base: 0x20000, limit: 0xfff, attributes: 0x0093 });
    expect(read32(m, 0x500)).toBe(0x12345678);
    // The accessed bit is set in the descriptors that were loaded.
    expect(m.mem.read8(0x10072 + 8 + 5)).toBe(0x9b);
    expect(m.mem.read8(0x10072 + 0x20 + 5)).toBe(0x93);
  });

  it('runs a far CALL/RETF and INT n/IRETD through a trap gate at CPL 0', () => {
    const s = run().cpu.getState();
    expect(s.ebx).toBe(0xfeed);
    expect(s.ecx).toBe(0x30);
    expect(s.esp).toBe(0x90000);
    expect(s.eip).toBe(0x5b); // after the HLT
  });

  it('raises #GP with the selector error code for a selector past the GDT limit, #GP(0) past a segment limit', () => {
    const m = run();
    expect(read32(m, 0x600)).toBe(0x28);
    expect(read32(m, 0x604)).toBe(0);
    expect(m.cpu.getState().edi).toBe(0x608);
    expect(m.cpu.getState().ds.selector).toBe(0x10); // the failed load changed nothing
  });
});

function flatPm(code: number[]): TestMachine {
  const m = testMachine('p6', code);
  // GDT at 0x12000: null, 08h code32 base 10000h, 10h flat data.
  m.poke(0x12008, [0xff, 0xff, 0x00, 0x00, 0x01, 0x9b, 0x40, 0x00]);
  m.poke(0x12010, [0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00]);
  m.cpu.setState({
    cr0: 0x11,
    gdtr: { base: 0x12000, limit: 0x17 },
    idtr: { base: 0x11000, limit: 0x30 * 8 + 7 },
    cs: { selector: 0x08, base: 0x10000, limit: 0xffff, attributes: 0x409b },
    ss: { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 },
    ds: { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 },
    esp: 0x90000,
  });
  return m;
}

describe('protected mode: exceptions', () => {
  it('pushes the error code of a #NP for a not-present data segment and a #GP for a code selector in SS', () => {
    // mov ax, 18h / mov es, ax (not present: #NP(18h)) / mov ax, 8 / mov ss, ax (#GP(8)) / hlt
    // handler at 40h: pop dword [edi] / add edi, 4 / add dword [esp], 2 / iretd
    const m = flatPm([0x66, 0xb8, 0x18, 0x00, 0x8e, 0xc0, 0x66, 0xb8, 0x08, 0x00, 0x8e, 0xd0, 0xf4]);
    m.poke(0x12018, [0xff, 0xff, 0, 0, 0, 0x13, 0xcf, 0]);
    m.cpu.setState({ gdtr: { base: 0x12000, limit: 0x1f }, edi: 0x700 });
    m.poke(0x10040, [0x8f, 0x07, 0x83, 0xc7, 0x04, 0x83, 0x04, 0x24, 0x02, 0xcf]);
    gate(m, 11, 0x40, 0x8e);
    gate(m, 13, 0x40, 0x8e);
    expect(m.cpu.run(50)).toBe('halt');
    expect(read32(m, 0x700)).toBe(0x18);
    expect(read32(m, 0x704)).toBe(0x08);
    expect(m.cpu.getState().es.selector).toBe(0x3000); // the failed loads changed nothing
    expect(m.cpu.getState().ss.selector).toBe(0x10);
  });

  it('turns a fault while delivering into #DF, and a fault while delivering #DF into shutdown', () => {
    // int 30h through an empty IDT entry: #GP(182h) -> no #GP gate -> #DF -> no #DF gate -> shutdown.
    const m = flatPm([0xcd, 0x30]);
    expect(m.cpu.run(10)).toBe('shutdown');
  });

  it('delivers #DF with error code 0 when the #GP cannot be delivered', () => {
    const m = flatPm([0xcd, 0x30]);
    m.poke(0x10040, [0x8f, 0x05, 0x00, 0x08, 0x00, 0x00, 0xf4]); // pop dword [800h] / hlt
    gate(m, 8, 0x40, 0x8e);
    m.poke(0x800, [0xaa, 0xaa, 0xaa, 0xaa]);
    expect(m.cpu.run(10)).toBe('halt');
    expect(read32(m, 0x800)).toBe(0);
    expect(read32(m, 0x90000 - 8)).toBe(0x08); // the pushed CS
  });

  it('refuses a far JMP to a data segment with #GP(selector) and returns to the faulting instruction', () => {
    // jmp 10h:0 (a data segment) ; handler at 40h: pop edx / hlt
    const m = flatPm([0xea, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00]);
    m.poke(0x10040, [0x5a, 0xf4]);
    gate(m, 13, 0x40, 0x8e);
    expect(m.cpu.run(10)).toBe('halt');
    expect(m.cpu.getState().edx).toBe(0x10);
    expect(read32(m, 0x90000 - 12)).toBe(0); // the pushed EIP is the JMP
  });
});

/*
 * bits 16: lgdt / lidt / mov eax, 0x80000 / mov cr3, eax / mov eax, cr0 / or eax, 0x80000001 /
 *          mov cr0, eax / jmp dword 0x08:pm32
 * pm32: mov ax, 0x10 / mov ds, ax / mov ss, ax / mov esp, 0x90000
 *   mov dword [0xa0000], 0xcafebabe     ; linear A0000h -> physical 160000h
 *   mov esi, 0xa0000 / call esi         ; code at CS:A0000h = linear B0000h -> physical 170000h
 *   mov edi, eax
 *   mov byte [0xa1001], 2               ; linear A1000h aliases physical 170000h: patches the code
 *   call esi
 *   mov ebx, [0xa2004]                  ; not present: #PF, CR2 = A2004h
 *   hlt
 * pf_handler (59h): pop edx / mov ecx, cr2 / add dword [esp], 6 / iretd
 * gdt (62h): null, 08h code32 base 10000h, 10h flat data; idtr: limit 77h, base 11000h
 */
const PAGING =
  '2e0f01167a002e0f011e800066b8000008000f22d80f20c0660d010000800f22c066ea29000000080066b810008ed88e' +
  'd0bc00000900c70500000a00bebafecabe00000a00ffd689c7c60501100a0002ffd68b1d04200a00f45a0f20d1830424' +
  '06cf0000000000000000ffff0000019a4000ffff00000092cf00170062000100770000100100';

describe('paging through the Mmu', () => {
  function run(): TestMachine {
    const m = testMachine('p6', bytes(PAGING));
    gate(m, 14, 0x59, 0x8e);
    const pde = (i: number, v: number): void => m.poke(0x80000 + i * 4, [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
    const pte = (i: number, v: number): void => m.poke(0x81000 + i * 4, [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
    pde(0, 0x81003);
    for (let i = 0; i < 0x200; i++) pte(i, (i << 12) | 3);
    pte(0xa0, 0x160003);
    pte(0xa1, 0x170003);
    pte(0xa2, 0);
    pte(0xb0, 0x170003);
    m.poke(0x170000, [0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3]); // mov eax, 1 / ret
    expect(m.cpu.run(100)).toBe('halt');
    return m;
  }

  it('translates data accesses and instruction fetches through the page tables', () => {
    const m = run();
    expect(read32(m, 0x160000)).toBe(0xcafebabe);
    expect(read32(m, 0xa0000)).toBe(0);
    expect(m.cpu.getState().edi).toBe(1);
  });

  it('keeps decoded code coherent when it is written through another linear alias of its physical page', () => {
    expect(run().cpu.getState().eax).toBe(2);
  });

  it('raises #PF with CR2 and the error code for a not-present page', () => {
    const s = run().cpu.getState();
    expect(s.cr2).toBe(0xa2004);
    expect(s.ecx).toBe(0xa2004);
    expect(s.edx).toBe(0); // not present, read, supervisor
    expect(s.ebx).toBe(0);
  });

  it('refuses CR0.PG without CR0.PE with #GP(0)', () => {
    // mov eax, 80000000h / mov cr0, eax ; (real mode, IVT entry 13 -> 0:0 holds a HLT at physical 0)
    const m = testMachine('p6', [0x66, 0xb8, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0]);
    m.poke(13 * 4, [0x00, 0x05, 0x00, 0x00]);
    m.poke(0x500, [0xf4]);
    expect(m.cpu.run(10)).toBe('halt');
    expect(m.cpu.getState().cr0 >>> 31).toBe(0);
  });

  it('drops decoded instructions when CS switches between 16- and 32-bit code', () => {
    // B8 34 12 00 00: MOV AX, 1234h + 2 bytes in 16-bit code, MOV EAX, 1234h in 32-bit code.
    const m = testMachine('p6', [0xb8, 0x34, 0x12, 0x00, 0x00]);
    m.cpu.setState({ eax: 0xffffffff });
    m.cpu.step();
    expect(m.cpu.getState().eip).toBe(3);
    m.cpu.setState({ cr0: 0x11, eip: 0, cs: { selector: 0x08, base: 0x10000, limit: 0xffff, attributes: 0x409b } });
    m.cpu.step();
    expect(m.cpu.getState().eip).toBe(5);
    expect(m.cpu.getState().eax).toBe(0x1234);
  });
});
