; Descriptors and segment loads in protected mode (Intel SDM vol. 3A, 3.4-3.5 and 5.1-5.8; vol. 2 for
; LAR, LSL, VERR, VERW, ARPL, SGDT, SIDT, SLDT, STR, SMSW, LMSW, CLTS): the checks a segment load
; makes and the error code of each fault, far transfers checked against the target's limit, the
; selector queries, and the system-register instructions.
;
; Left out because QEMU (TCG) does not check them, while a P6 does: the segment limit and the
; read/write rights on each data access (offsets past a limit, expand-down segments below their
; limit, writes to read-only or code segments, reads of execute-only code) and the use of a null
; segment register (#GP(0)). tsvm's unit tests cover those from the SDM (src/segment-access.test.ts).

%include "lib/boot.inc"

SEL_DATA        equ 0x30            ; data, base 0x20000, limit 0xFFF, read/write
SEL_RO          equ 0x38            ; data, read-only
SEL_XO          equ 0x40            ; code, execute-only
SEL_RX          equ 0x48            ; code, execute/read, base 0x20000
SEL_NP          equ 0x50            ; data, not present
SEL_BIG         equ 0x58            ; data, limit 0xF with 4 KiB granularity (64 KiB)
SEL_DOWN        equ 0x60            ; expand-down data, limit 0x0FFF, B = 1
SEL_CODE_NP     equ 0x68            ; code, not present
SEL_CODE3_NC    equ 0x70            ; code DPL 3, non-conforming
SEL_CONF3       equ 0x78            ; code DPL 3, conforming
SEL_LDT         equ 0x80            ; an LDT of 4 descriptors at 0x11000
SEL_FRESH       equ 0x88            ; data with the accessed bit clear
SEL_GATE        equ 0x90            ; a call gate (for LAR/LSL)
SEL_INTGATE     equ 0x98            ; an interrupt-gate type in the GDT (LAR refuses it)
SEL_DATA_DPL1   equ 0xA0            ; data DPL 1
SEL_SHORT_CODE  equ 0xA8            ; code, base 0, limit 0xEFFFF bytes (below the program at 0xF0000+)
SEL_CONF0       equ 0xB0            ; code DPL 0, conforming
LDT_BASE        equ 0x11000

test_main:
        SET_DESC SEL_DATA, 0x20000, 0xFFF, 0x93, FLG_32
        SET_DESC SEL_RO, 0x20000, 0xFFF, 0x91, FLG_32
        SET_DESC SEL_XO, 0x0, 0xFFFFF, 0x99, FLG_G | FLG_32
        SET_DESC SEL_RX, 0x20000, 0xFFFF, 0x9B, FLG_32
        SET_DESC SEL_NP, 0x20000, 0xFFF, 0x13, FLG_32
        SET_DESC SEL_BIG, 0x20000, 0xF, 0x93, FLG_G | FLG_32
        SET_DESC SEL_DOWN, 0x20000, 0x0FFF, 0x97, FLG_32
        SET_DESC SEL_CODE_NP, 0x0, 0xFFFFF, 0x1B, FLG_G | FLG_32
        SET_DESC SEL_CODE3_NC, 0x0, 0xFFFFF, 0xFB, FLG_G | FLG_32
        SET_DESC SEL_CONF3, 0x0, 0xFFFFF, 0xFF, FLG_G | FLG_32
        SET_DESC SEL_LDT, LDT_BASE, 4 * 8 - 1, 0x82, 0
        SET_DESC SEL_FRESH, 0x20000, 0xFFF, 0x92, FLG_32
        SET_GATE GDT_BASE, SEL_GATE / 8, SEL_CODE0, lib_exit, 0xEC, 2
        SET_GATE GDT_BASE, SEL_INTGATE / 8, SEL_CODE0, lib_exit, 0x8E
        SET_DESC SEL_DATA_DPL1, 0x20000, 0xFFF, 0xB3, FLG_32
        SET_DESC SEL_SHORT_CODE, 0x0, 0xEFFFF, 0x9B, FLG_32
        SET_DESC SEL_CONF0, 0x0, 0xFFFFF, 0x9F, FLG_G | FLG_32
        ; the LDT: 0x04 data (base 0x30000), 0x0C not present, 0x14 null-type, 0x1C past the limit
        mov     dword [LDT_BASE], 0
        mov     dword [LDT_BASE + 4], 0
        mov     dword [LDT_BASE + 8], 0x0000FFFF
        mov     dword [LDT_BASE + 12], 0x00409303
        mov     dword [LDT_BASE + 16], 0x0000FFFF
        mov     dword [LDT_BASE + 20], 0x00401303
        mov     dword [LDT_BASE + 24], 0
        mov     dword [LDT_BASE + 28], 0
        mov     dword [0x20000], 0x11223344
        mov     dword [0x30000], 0x55667788

; --- data segment loads ---------------------------------------------------------------------------
        TRY     "ds-data"
        mov     ax, SEL_DATA
        mov     ds, ax
        mov     eax, [0]
        mov     bx, SEL_DATA0
        mov     ds, bx
        FIELD   " value=", eax, 32
        ENDTRY

        TRY     "ds-past-gdt-limit"
        mov     ax, GDT_LIMIT + 1
        mov     ds, ax
        ENDTRY

        TRY     "ds-past-gdt-limit-rpl3"
        mov     ax, (GDT_LIMIT + 1) | 3
        mov     ds, ax
        ENDTRY

        TRY     "ds-tss"
        mov     ax, SEL_TSS
        mov     ds, ax
        ENDTRY

        TRY     "ds-execute-only"
        mov     ax, SEL_XO
        mov     es, ax
        ENDTRY

        TRY     "ds-readable-code"
        mov     ax, SEL_RX
        mov     es, ax
        mov     eax, [es:0]
        FIELD   " value=", eax, 32
        ENDTRY

        TRY     "ds-dpl0-rpl3"
        mov     ax, SEL_DATA | 3
        mov     fs, ax
        ENDTRY

        TRY     "ds-dpl1-rpl1"
        mov     ax, SEL_DATA_DPL1 | 1
        mov     fs, ax
        ENDTRY

        TRY     "ds-dpl1-rpl2"
        mov     ax, SEL_DATA_DPL1 | 2
        mov     gs, ax
        ENDTRY

        TRY     "ds-not-present"
        mov     ax, SEL_NP
        mov     gs, ax
        ENDTRY

        TRY     "ds-interrupt-gate"
        mov     ax, SEL_INTGATE
        mov     ds, ax
        ENDTRY

        TRY     "ds-null"
        xor     ax, ax
        mov     es, ax
        mov     ax, 3
        mov     fs, ax
        mov     ax, fs
        FIELD   " fs=", eax, 16
        ENDTRY

        TRY     "accessed-bit"
        movzx   eax, byte [GDT_BASE + SEL_FRESH + 5]
        FIELD   " before=", eax, 8
        mov     ax, SEL_FRESH
        mov     gs, ax
        movzx   eax, byte [GDT_BASE + SEL_FRESH + 5]
        FIELD   " after=", eax, 8
        ENDTRY

        TRY     "pop-ds-bad"
        push    dword SEL_XO
        pop     ds
        ENDTRY
        mov     eax, [lib_fault_esp]          ; the POP did not complete: the selector is still on the stack
        sub     eax, STACK_TOP
        FIELD   "pop-ds-bad esp-delta=", eax, 32
        NL

        TRY     "lds-bad"
        mov     dword [0x500], 0x1234
        mov     word [0x504], SEL_NP
        lds     esi, [0x500]
        ENDTRY

        TRY     "lfs-good"
        mov     dword [0x500], 0x1234
        mov     word [0x504], SEL_DATA
        lfs     esi, [0x500]
        mov     ax, fs
        FIELD   " fs=", eax, 16
        FIELD   " esi=", esi, 32
        ENDTRY

; --- SS loads -------------------------------------------------------------------------------------
        TRY     "ss-null"
        xor     ax, ax
        mov     ss, ax
        ENDTRY

        TRY     "ss-read-only"
        mov     ax, SEL_RO
        mov     ss, ax
        ENDTRY

        TRY     "ss-code"
        mov     ax, SEL_RX
        mov     ss, ax
        ENDTRY

        TRY     "ss-rpl3"
        mov     ax, SEL_DATA0 | 3
        mov     ss, ax
        ENDTRY

        TRY     "ss-dpl3"
        mov     ax, SEL_DATA3
        mov     ss, ax
        ENDTRY

        TRY     "ss-not-present"
        mov     dword [GDT_BASE + SEL_NP + 4], 0x00401200 | 0x02    ; writable, not present, base 0x20000
        mov     ax, SEL_NP
        mov     ss, ax
        ENDTRY

        TRY     "ss-past-gdt-limit"
        mov     ax, 0x1000
        mov     ss, ax
        ENDTRY

        TRY     "ss-expand-down"
        mov     ax, SEL_DOWN
        mov     ss, ax
        mov     esp, 0x2000
        push    dword 0xCAFE
        pop     eax
        mov     bx, SEL_DATA0
        mov     ss, bx
        mov     esp, STACK_TOP
        FIELD   " popped=", eax, 32
        mov     eax, [0x20000 + 0x1FFC]
        FIELD   " mem=", eax, 32
        ENDTRY

; --- the LDT --------------------------------------------------------------------------------------
        TRY     "ldt-null-ldtr"
        mov     ax, 0x04
        mov     ds, ax
        ENDTRY

        TRY     "lldt"
        mov     ax, SEL_LDT
        lldt    ax
        sldt    ebx
        FIELD   " ldtr=", ebx, 16
        ENDTRY

        TRY     "ldt-load"
        mov     ax, 0x0C
        mov     es, ax
        mov     eax, [es:0]
        FIELD   " value=", eax, 32
        ENDTRY

        TRY     "ldt-not-present"
        mov     ax, 0x14
        mov     es, ax
        ENDTRY

        TRY     "ldt-past-limit"
        mov     ax, 0x24 | 3
        mov     es, ax
        ENDTRY

        TRY     "lldt-not-ldt"
        mov     ax, SEL_DATA
        lldt    ax
        ENDTRY

        TRY     "lldt-null"
        xor     ax, ax
        lldt    ax
        sldt    eax
        FIELD   " ldtr=", eax, 16
        ENDTRY

; --- far transfers --------------------------------------------------------------------------------
        TRY     "jmp-far-past-limit"
        jmp     SEL_SHORT_CODE:0xF0000        ; limit 0xEFFFF
        ENDTRY

        TRY     "jmp-far-data"
        jmp     SEL_DATA:0
        ENDTRY

        TRY     "jmp-far-not-present"
        jmp     SEL_CODE_NP:0
        ENDTRY

        TRY     "jmp-far-dpl3"
        jmp     SEL_CODE3_NC:0
        ENDTRY

        TRY     "jmp-far-null"
        jmp     0:0
        ENDTRY

        TRY     "call-far-conforming"
        call    SEL_CONF0:.conforming   ; conforming, DPL 0 <= CPL 0: runs at CPL 0
        ENDTRY
        TRY     "call-far-conforming-dpl3"
        call    SEL_CONF3:.conforming   ; conforming code with DPL 3 > CPL 0: #GP
        ENDTRY
        jmp     .after_conforming
.conforming:
        mov     ax, cs
        FIELD   " cs=", eax, 16
        retf
.after_conforming:

        TRY     "retf-same-level"
        push    dword SEL_CODE0
        push    dword .retf_target
        retf
.retf_target:
        mov     ax, cs
        FIELD   " cs=", eax, 16
        ENDTRY

; --- selector queries -----------------------------------------------------------------------------
%macro QUERY 3  ; name, instruction, selector
        PRINT   %1
        mov     eax, 0xEEEEEEEE
        mov     ebx, %3
        %2      eax, ebx
        PRINT_ZF
        FIELD   " value=", eax, 32
        NL
%endmacro
        QUERY   "lar-code", lar, SEL_CODE0
        QUERY   "lar-data-rpl3", lar, SEL_DATA0 | 3
        QUERY   "lar-data3-rpl3", lar, SEL_DATA3 | 3
        QUERY   "lar-tss-busy", lar, SEL_TSS
        QUERY   "lar-ldt", lar, SEL_LDT
        QUERY   "lar-call-gate", lar, SEL_GATE
        QUERY   "lar-interrupt-gate", lar, SEL_INTGATE
        QUERY   "lar-null", lar, 0
        QUERY   "lar-past-limit", lar, 0x1000
        QUERY   "lar-not-present", lar, SEL_NP
        QUERY   "lar-conforming-rpl3", lar, SEL_CONF3 | 3
        QUERY   "lsl-flat", lsl, SEL_DATA0
        QUERY   "lsl-granular", lsl, SEL_BIG
        QUERY   "lsl-expand-down", lsl, SEL_DOWN
        QUERY   "lsl-tss", lsl, SEL_TSS
        QUERY   "lsl-ldt", lsl, SEL_LDT
        QUERY   "lsl-call-gate", lsl, SEL_GATE
        QUERY   "lsl-ldt-entry", lsl, 0x0C
        QUERY   "lsl-dpl1-rpl2", lsl, SEL_DATA_DPL1 | 2

        PRINT   "lar16-code"
        mov     eax, 0xEEEEEEEE
        mov     bx, SEL_CODE0
        lar     ax, bx
        PRINT_ZF
        FIELD   " value=", eax, 32
        NL

%macro VERIFY 3 ; name, instruction, selector
        PRINT   %1
        mov     ax, %3
        %2      ax
        PRINT_ZF
        NL
%endmacro
        VERIFY  "verr-data", verr, SEL_DATA
        VERIFY  "verw-data", verw, SEL_DATA
        VERIFY  "verr-read-only", verr, SEL_RO
        VERIFY  "verw-read-only", verw, SEL_RO
        VERIFY  "verr-execute-only", verr, SEL_XO
        VERIFY  "verr-readable-code", verr, SEL_RX
        VERIFY  "verw-code", verw, SEL_RX
        VERIFY  "verr-conforming-rpl3", verr, SEL_CONF3 | 3
        VERIFY  "verr-tss", verr, SEL_TSS
        VERIFY  "verr-null", verr, 0
        VERIFY  "verw-dpl0-rpl3", verw, SEL_DATA0 | 3
        VERIFY  "verr-not-present", verr, SEL_NP

        PRINT   "verr-memory"
        mov     word [0x500], SEL_RX
        verr    [0x500]
        PRINT_ZF
        NL

        PRINT   "arpl-raise"
        mov     ax, SEL_DATA0
        mov     bx, SEL_DATA3 | 3
        arpl    ax, bx
        PRINT_ZF
        FIELD   " ax=", eax, 16
        NL
        PRINT   "arpl-keep"
        mov     bx, 1
        arpl    ax, bx
        PRINT_ZF
        FIELD   " ax=", eax, 16
        NL
        PRINT   "arpl-memory"
        mov     word [0x500], 0x0011
        mov     bx, 2
        arpl    [0x500], bx
        PRINT_ZF
        movzx   eax, word [0x500]
        FIELD   " mem=", eax, 16
        NL

; --- system registers -----------------------------------------------------------------------------
        PRINT   "sgdt"
        sgdt    [0x500]
        movzx   eax, word [0x500]
        FIELD   " limit=", eax, 16
        FIELD   " base=", [0x502], 32
        NL
        PRINT   "sidt"
        sidt    [0x500]
        movzx   eax, word [0x500]
        FIELD   " limit=", eax, 16
        FIELD   " base=", [0x502], 32
        NL
        PRINT   "sldt-str"
        mov     ax, SEL_LDT
        lldt    ax
        mov     dword [0x500], 0xEEEEEEEE
        sldt    [0x500]
        FIELD   " sldt-mem=", [0x500], 32
        mov     dword [0x500], 0xEEEEEEEE
        str     [0x500]
        FIELD   " str-mem=", [0x500], 32
        mov     eax, 0xEEEEEEEE
        str     eax
        FIELD   " str-reg=", eax, 32
        NL

        PRINT   "lmsw"
        smsw    eax
        and     eax, 0xFFFF
        FIELD   " msw=", eax, 16
        mov     ax, 0x000E                    ; MP, EM, TS; PE clear: LMSW cannot leave protected mode
        lmsw    ax
        mov     eax, cr0
        and     eax, 0x1F
        FIELD   " cr0=", eax, 8
        clts
        mov     eax, cr0
        and     eax, 0x1F
        FIELD   " clts=", eax, 8
        mov     ax, 0x0001
        lmsw    ax
        mov     eax, cr0
        and     eax, 0x1F
        FIELD   " restored=", eax, 8
        NL

        TRY     "lgdt-short-limit"
        sgdt    [0x510]
        mov     word [0x500], 0x2F
        mov     dword [0x502], GDT_BASE
        lgdt    [0x500]
        mov     ax, SEL_DATA        ; 0x30: just past the new limit
        mov     ds, ax
        ENDTRY
        lgdt    [0x510]

        DONE

%include "lib/end.inc"
