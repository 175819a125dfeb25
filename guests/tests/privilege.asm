; Privilege levels (Intel SDM vol. 3A, 5.5-5.10, 6.12): entering ring 3 with IRET and RETF, the data
; segments a return to an outer level keeps or nulls, call gates with the stack switch and the
; parameter copy, interrupt gates from ring 3 (gate DPL, the TSS stack), conforming code segments,
; CPL and IOPL checks on privileged and I/O-sensitive instructions, and what POPF may change at CPL 3.
;
; Ring-3 code cannot print (IOPL 0): it leaves what it saw at RESULTS and returns with RING0; the line
; is printed at ring 0 after ENDTRY.
;
; Left out: the use of a null segment at ring 3 after the return nulled it (QEMU's TCG does not
; fault on it, a P6 raises #GP(0)); interrupts with IF set (QEMU's PIT would interrupt).

%include "lib/boot.inc"

SEL_GATE32      equ 0x30            ; 32-bit call gate, DPL 3, 2 parameters, to SEL_CODE0:gate_target
SEL_GATE_DPL0   equ 0x38            ; 32-bit call gate, DPL 0
SEL_CONF0       equ 0x40            ; conforming code, DPL 0
SEL_GATE_SAME   equ 0x50            ; 32-bit call gate, DPL 3, to SEL_CODE3:same_target (no level change)
RESULTS         equ 0x700           ; what ring 3 saw
IOPL3           equ 0x3000

%macro RESULT 2                     ; RESULT index, " name=": prints a 32-bit result
        FIELD   %2, [RESULTS + (%1) * 4], 32
%endmacro
%macro RESULT16 2
        FIELD   %2, [RESULTS + (%1) * 4], 16
%endmacro

test_main:
        SET_GATE GDT_BASE, SEL_GATE32 / 8, SEL_CODE0, gate_target, 0xEC, 2
        SET_GATE GDT_BASE, SEL_GATE_DPL0 / 8, SEL_CODE0, gate_target, 0x8C, 2
        SET_DESC SEL_CONF0, 0, 0xFFFFF, 0x9F, FLG_G | FLG_32
        SET_GATE GDT_BASE, SEL_GATE_SAME / 8, SEL_CODE3, same_target, 0xEC, 0
        IDT_GATE 0x50, lib_isr_stubs + 0x50 * 16, GATE_INT32 | ACC_DPL3
        mov     edi, RESULTS
        mov     ecx, 16
        mov     eax, 0xEEEEEEEE
        rep     stosd

; --- entering ring 3 ------------------------------------------------------------------------------
        TRY     "ring3-iret"
        ENTER_RING3 .iret3
.iret3:
        mov     eax, cs
        mov     [RESULTS], eax
        mov     eax, ss
        mov     [RESULTS + 4], eax
        mov     eax, ds
        mov     [RESULTS + 8], eax
        RING0
        ENDTRY
        RESULT16 0, "ring3-iret cs="
        RESULT16 1, " ss="
        RESULT16 2, " ds="
        FIELD   " int-from=", [lib_fault_cs], 16
        NL

        TRY     "ring3-retf"                  ; DS (DPL 0) nulled, ES (DPL 3) kept, FS (conforming) kept
        mov     ax, SEL_DATA3 | 3
        mov     es, ax
        mov     ax, SEL_CONF0
        mov     fs, ax
        mov     ax, SEL_DATA0
        mov     gs, ax
        push    dword SEL_DATA3 | 3
        push    dword USER_STACK_TOP
        push    dword SEL_CODE3 | 3
        push    dword .retf3
        retf
.retf3:
        mov     eax, ds
        mov     ebx, es
        mov     ecx, fs
        mov     edx, gs
        mov     esi, cs
        RING0
        ENDTRY
        FIELD   "ring3-retf ds=", [lib_fault_regs + 28], 16
        FIELD   " es=", [lib_fault_regs + 16], 16
        FIELD   " fs=", [lib_fault_regs + 24], 16
        FIELD   " gs=", [lib_fault_regs + 20], 16
        FIELD   " cs=", [lib_fault_regs + 4], 16
        FIELD   " esp=", [lib_fault_esp], 32
        NL

        TRY     "retf-to-inner"               ; RETF may not return to a more privileged level
        ENTER_RING3 .inner3
.inner3:
        push    dword SEL_CODE0
        push    dword .never
        retf
.never:
        RING0
        ENDTRY

        TRY     "iret-to-inner"
        ENTER_RING3 .iinner3
.iinner3:
        pushfd
        push    dword SEL_CODE0
        push    dword .never2
        iretd
.never2:
        RING0
        ENDTRY

; --- CPL and IOPL checks at ring 3 ----------------------------------------------------------------
%macro RING3_FAULT 2+               ; name, instruction: runs it at ring 3 (IOPL 0)
        TRY     %1
        ENTER_RING3 %%r3
%%r3:
        %2
        RING0
        ENDTRY
%endmacro
        RING3_FAULT "r3-cli", cli
        RING3_FAULT "r3-sti", sti
        RING3_FAULT "r3-hlt", hlt
        RING3_FAULT "r3-in", in al, 0x80
        RING3_FAULT "r3-out-dx", out dx, al
        RING3_FAULT "r3-mov-cr0", mov eax, cr0
        RING3_FAULT "r3-mov-to-cr3", mov cr3, eax
        RING3_FAULT "r3-mov-dr7", mov eax, dr7
        RING3_FAULT "r3-lgdt", lgdt [0x500]
        RING3_FAULT "r3-lidt", lidt [0x500]
        RING3_FAULT "r3-lldt", lldt ax
        RING3_FAULT "r3-ltr", ltr ax
        RING3_FAULT "r3-lmsw", lmsw ax
        RING3_FAULT "r3-clts", clts
        RING3_FAULT "r3-invlpg", invlpg [0]
        RING3_FAULT "r3-sgdt-allowed", sgdt [0x500]
        RING3_FAULT "r3-smsw-allowed", smsw eax
        RING3_FAULT "r3-load-ds-rpl0-dpl0", mov ds, [cs:sel_data0]
        RING3_FAULT "r3-load-ss-dpl0", mov ss, [cs:sel_data0]
        RING3_FAULT "r3-jmp-ring0", jmp SEL_CODE0:0
        RING3_FAULT "r3-call-ring0", call SEL_CODE0:0
        RING3_FAULT "r3-int-dpl0-gate", int 0x51
        RING3_FAULT "r3-int3-dpl0-gate", int3

        TRY     "r3-into-dpl0-gate"
        ENTER_RING3 .into3, 0x802             ; OF set
.into3:
        into
        RING0
        ENDTRY

        TRY     "r3-iopl3-cli-in"             ; IOPL 3: CLI and IN are allowed at CPL 3
        ENTER_RING3 .iopl3, 0x2 | IOPL3
.iopl3:
        cli
        in      al, 0x80
        RING0
        ENDTRY

        TRY     "r3-popf"                     ; POPF at CPL 3: IOPL unchanged, no fault
        ENTER_RING3 .popf3, 0x2 | 0x1000      ; IOPL 1
.popf3:
        pushfd
        or      dword [esp], IOPL3 | 0x8D5    ; IOPL 3 and arithmetic flags
        popfd
        pushfd
        pop     eax
        mov     [RESULTS], eax
        RING0
        ENDTRY
        RESULT  0, "r3-popf eflags="
        NL

        TRY     "r3-verr"                     ; visibility from ring 3
        ENTER_RING3 .verr3
.verr3:
        mov     ax, SEL_DATA0
        verr    ax
        setz    [RESULTS]
        mov     ax, SEL_DATA3 | 3
        verw    ax
        setz    [RESULTS + 1]
        mov     ax, SEL_CONF0 | 3
        verr    ax
        setz    [RESULTS + 2]
        lsl     ebx, [cs:sel_data0]
        setz    [RESULTS + 3]
        RING0
        ENDTRY
        RESULT  0, "r3-verr zf="
        NL

; --- interrupt gates from ring 3 ------------------------------------------------------------------
        TRY     "r3-int-gate"                 ; DPL 3 gate: to ring 0 on the TSS stack
        ENTER_RING3 .int3_r3
.int3_r3:
        mov     ebx, 0x1234
        int     0x50
        RING0
        ENDTRY
        FIELD   "r3-int-gate old-esp=", [lib_fault_esp], 32
        mov     eax, [lib_fault_regs + 12]
        sub     eax, KSTACK_TOP               ; the handler's ESP: on the ring-0 stack from the TSS
        FIELD   " kstack-delta=", eax, 32
        FIELD   " eflags=", [lib_fault_efl], 32
        NL

        TRY     "r3-fault-stack"              ; an exception from ring 3 uses the TSS stack too
        ENTER_RING3 .ud3
.ud3:
        push    dword 0x77
        ud2
        ENDTRY
        FIELD   "r3-fault-stack old-esp=", [lib_fault_esp], 32
        NL

        TRY     "r3-int-bad-ss0"              ; the TSS's SS0 is DPL 3: #TS(0020) before anything is pushed
        SET_GATE IDT_BASE, 10, SEL_CONF0, ts_handler, GATE_INT32
        mov     dword [TSS_BASE + 8], SEL_DATA3
        ENTER_RING3 .ts3, 0x2 | IOPL3
.ts3:
        int     0x50
        RING0
        ENDTRY
        RESTORE_GATE 10

; --- call gates -----------------------------------------------------------------------------------
        TRY     "call-gate-32"
        ENTER_RING3 .cg3
.cg3:
        push    dword 0x11111111
        push    dword 0x22222222
        call    SEL_GATE32:0xDEAD             ; the gate's offset is used, this one ignored
        mov     [RESULTS], esp
        mov     eax, cs
        mov     [RESULTS + 4], eax
        RING0
        ENDTRY
        RESULT  0, "call-gate-32 back esp="
        RESULT16 1, " cs="
        NL

        TRY     "call-gate-same-level"        ; to DPL 3 code: no stack switch
        ENTER_RING3 .cgs
.cgs:
        call    SEL_GATE_SAME:0
        mov     [RESULTS + 4], esp
        RING0
        ENDTRY
        RESULT  0, "call-gate-same-level esp-in="
        RESULT  1, " esp-after="
        NL

        TRY     "call-gate-dpl0-from-r3"
        ENTER_RING3 .cgd
.cgd:
        call    SEL_GATE_DPL0:0
        RING0
        ENDTRY

        TRY     "call-gate-rpl-above-dpl"     ; gate DPL 0 at CPL 0, selector RPL 3
        call    (SEL_GATE_DPL0 | 3):0
        ENDTRY

        TRY     "jmp-gate-to-inner"           ; JMP through a gate cannot change the level
        ENTER_RING3 .jg
.jg:
        jmp     SEL_GATE32:0
        ENDTRY

        TRY     "call-gate-ring0"             ; at CPL 0 through the DPL 3 gate: same level, no switch
        push    dword 0x44444444
        push    dword 0x55555555
        call    SEL_GATE32:0
        add     esp, 0
        mov     eax, esp
        sub     eax, STACK_TOP
        FIELD   " esp-delta=", eax, 32
        ENDTRY

; --- conforming code ------------------------------------------------------------------------------
        TRY     "conforming-from-r3"          ; runs at CPL 3: CS.RPL stays 3
        ENTER_RING3 .cf3
.cf3:
        call    SEL_CONF0:conf_target
        RING0
        ENDTRY
        RESULT16 0, "conforming-from-r3 cs="
        RESULT16 1, " ss="
        NL

        TRY     "conforming-int-gate"         ; an interrupt gate to conforming code: no level change
        mov     word [IDT_BASE + 0x52 * 8 + 2], SEL_CONF0
        mov     byte [IDT_BASE + 0x52 * 8 + 5], GATE_INT32 | ACC_DPL3
        mov     dword [RESULTS], 0xEEEEEEEE
        ENTER_RING3 .cint3
.cint3:
        int     0x52                          ; the library's handler, at CPL 3: its OUT faults
        RING0
        ENDTRY
        RESTORE_GATE 0x52

        DONE

; Reached through SEL_GATE32 from ring 3: prints the frame the CPU built on the ring-0 stack.
gate_target:
        mov     eax, cs
        FIELD   " cs=", eax, 16
        mov     eax, ss
        FIELD   " ss=", eax, 16
        FIELD   " ret-cs=", [esp + 4], 16
        FIELD   " p0=", [esp + 8], 32
        FIELD   " p1=", [esp + 12], 32
        mov     eax, [esp + 4]
        test    eax, 3
        jz      .same
        FIELD   " old-esp=", [esp + 16], 32
        FIELD   " old-ss=", [esp + 20], 16
        mov     eax, KSTACK_TOP
        sub     eax, esp
        FIELD   " frame=", eax, 8
.same:
        retf    8

same_target:                            ; ring 3 through a DPL 3 gate to DPL 3 code
        mov     [RESULTS], esp
        retf

conf_target:                            ; conforming DPL 0 code called from ring 3
        mov     eax, cs
        mov     [RESULTS], eax
        mov     eax, ss
        mov     [RESULTS + 4], eax
        retf

; #TS for r3-int-bad-ss0, through a gate to conforming code: it runs at CPL 3 on the ring-3 stack
; (no stack switch, which would need the broken SS0), prints the fault (IOPL 3), repairs SS0 through
; the flat DPL 3 DS and returns to ring 0.
ts_handler:
        PRINT   " #TS("
        PUTHEX16 [esp]
        PRINT   ")"
        FIELD   " eip=", [esp + 4], 32
        FIELD   " cs=", [esp + 8], 16
        mov     dword [TSS_BASE + 8], SEL_DATA0
        RING0

sel_data0:
        dw      SEL_DATA0

%include "lib/end.inc"
