; Exceptions in protected mode (Intel SDM vol. 3A, 6.4-6.15): the faults and traps of ordinary
; instructions with the EIP each saves, the single-step trap and what holds it off, software
; interrupts, faults while delivering an exception (#DF or delivered one after the other, table 6-5)
; and the error codes a bad IDT entry produces (IDT and EXT bits, 6.13).
;
; Left out: DR6 after a single-step trap, #AC (QEMU's TCG does not check alignment), the saved CS:EIP of #DF
; (undefined in the SDM), and the EXT bit of an error code raised while delivering an exception (a
; not-present gate for #UD is #NP(0033h) on a P6; QEMU reports 0032h): the bad-gate checks use
; INT n, whose error codes have EXT clear on both, and serial-ud-then-np prints its code without EXT.

%include "lib/boot.inc"

SEL_CODE_NP     equ 0x30            ; code, not present
SEL_DATA        equ 0x38            ; data (not code)
TF_FLAG         equ 0x100
OF_FLAG         equ 0x800

test_main:
        SET_DESC SEL_CODE_NP, 0, 0xFFFFF, 0x1B, FLG_G | FLG_32
        SET_DESC SEL_DATA, 0, 0xFFFFF, 0x93, FLG_G | FLG_32
        mov     dword [0x600], 10             ; BOUND ranges: [10, 20]
        mov     dword [0x604], 20
        mov     word [0x608], -5              ; 16-bit: [-5, 5]
        mov     word [0x60A], 5

; --- faults and traps of ordinary instructions ---------------------------------------------------
        TRY     "de-div-zero"
        mov     eax, 1
        xor     edx, edx
        xor     ecx, ecx
        div     ecx
        ENDTRY

        TRY     "de-idiv-overflow"
        mov     eax, 0x80000000
        cdq
        mov     ecx, -1
        idiv    ecx
        ENDTRY

        TRY     "de-div8-quotient"
        mov     ax, 0x1000
        mov     cl, 0x10
        div     cl                            ; quotient 0x100 does not fit in AL
        ENDTRY

        TRY     "de-aam-zero"
        aam     0
        ENDTRY

        TRY     "div-ok"
        mov     eax, 100
        xor     edx, edx
        mov     ecx, 7
        div     ecx
        FIELD   " q=", eax, 32
        FIELD   " r=", edx, 32
        ENDTRY

        TRY     "br-below"
        mov     eax, 9
        bound   eax, [0x600]
        ENDTRY

        TRY     "br-above"
        mov     eax, 21
        bound   eax, [0x600]
        ENDTRY

        TRY     "br-in-range"
        mov     eax, 20
        bound   eax, [0x600]
        ENDTRY

        TRY     "br-16-signed"
        mov     ax, -6
        o16 bound ax, [0x608]
        ENDTRY

        TRY     "ud-ud2"
        ud2
        ENDTRY

        TRY     "ud-lock-nop"
        db      0xF0, 0x90                    ; LOCK NOP
        ENDTRY

        TRY     "ud-lock-register"
        db      0xF0, 0x01, 0xD8              ; LOCK ADD EAX, EBX: no memory destination
        ENDTRY

        TRY     "ud-mov-cs"
        mov     ax, cs
        db      0x8E, 0xC8                    ; MOV CS, AX
        ENDTRY

        TRY     "ud-bound-register"
        db      0x62, 0xC0                    ; BOUND EAX, EAX: the source must be memory
        ENDTRY

        TRY     "ud-lds-register"
        db      0xC5, 0xC0                    ; LDS EAX, EAX
        ENDTRY

        TRY     "gp-too-long"                 ; 15 bytes is the most an instruction may have
        times 15 db 0x66
        nop
        ENDTRY

        TRY     "max-length-ok"
        times 14 db 0x66
        nop
        ENDTRY

        TRY     "bp-int3"
        int3
        ENDTRY

        TRY     "bp-int-3"
        int     3
        ENDTRY

        TRY     "of-into-set"
        mov     al, 0x7F
        add     al, 1                         ; OF = 1
        into
        ENDTRY

        TRY     "of-into-clear"
        xor     eax, eax
        into
        ENDTRY

        TRY     "int-n"
        int     0x41
        ENDTRY

; --- the single-step trap -------------------------------------------------------------------------
        TRY     "db-single-step"
        pushfd
        or      dword [esp], TF_FLAG
        popfd                                 ; the trap comes after the instruction that follows
        mov     eax, 1
        mov     eax, 2
        ENDTRY
        FIELD   "db-single-step eax=", [lib_fault_regs + 28], 32
        NL

        TRY     "db-after-mov-ss"             ; MOV SS holds the trap off for one instruction
        pushfd
        or      dword [esp], TF_FLAG
        popfd
        mov     ax, ss                        ; trapped after this one
        nop
        ENDTRY

        TRY     "db-mov-ss-shadow"
        mov     ax, ss
        pushfd
        or      dword [esp], TF_FLAG
        popfd
        mov     ss, ax                        ; no trap here ...
        mov     ebx, 1                        ; ... but after this one
        mov     ebx, 2
        ENDTRY

        TRY     "db-not-after-int"            ; INT n clears TF in the handler; no trap after it
        pushfd
        or      dword [esp], TF_FLAG
        popfd
        int     0x42
        ENDTRY

        TRY     "db-faulting-instruction"     ; a fault is delivered instead of the trap
        pushfd
        or      dword [esp], TF_FLAG
        popfd
        ud2
        ENDTRY

; --- faults while delivering --------------------------------------------------------------------
        TRY     "idt-past-limit"
        sidt    [0x500]
        mov     word [0x500], 0x41 * 8 + 7    ; vectors up to 0x41
        lidt    [0x500]
        int     0x42
        ENDTRY
        mov     word [0x500], IDT_LIMIT
        lidt    [0x500]

        TRY     "idt-not-present"
        and     byte [IDT_BASE + 0x43 * 8 + 5], 0x7F
        int     0x43
        ENDTRY
        RESTORE_GATE 0x43


        TRY     "idt-bad-type"                ; a data-segment type in the IDT
        mov     byte [IDT_BASE + 0x44 * 8 + 5], 0x92
        int     0x44
        ENDTRY
        RESTORE_GATE 0x44


        TRY     "idt-null-selector"
        mov     word [IDT_BASE + 0x46 * 8 + 2], 0
        int     0x46
        ENDTRY
        RESTORE_GATE 0x46

        TRY     "idt-selector-past-gdt"
        mov     word [IDT_BASE + 0x47 * 8 + 2], 0x1000
        int     0x47
        ENDTRY
        RESTORE_GATE 0x47

        TRY     "idt-selector-data"
        mov     word [IDT_BASE + 0x48 * 8 + 2], SEL_DATA
        int     0x48
        ENDTRY
        RESTORE_GATE 0x48

        TRY     "idt-code-not-present"
        mov     word [IDT_BASE + 0x49 * 8 + 2], SEL_CODE_NP
        int     0x49
        ENDTRY
        RESTORE_GATE 0x49


        TRY     "df-gp-while-gp"              ; #GP's gate not present: #NP while delivering #GP is #DF(0)
        NO_EIP
        and     byte [IDT_BASE + 13 * 8 + 5], 0x7F
        mov     ax, 0x1000
        mov     ds, ax                        ; #GP(1000)
        ENDTRY
        RESTORE_GATE 13

        TRY     "df-de-then-gp"               ; #DE's gate names a data segment: #GP while delivering #DE is #DF
        NO_EIP
        mov     word [IDT_BASE + 0 * 8 + 2], SEL_DATA
        xor     ecx, ecx
        div     ecx
        ENDTRY
        RESTORE_GATE 0

        TRY     "serial-ud-then-np"           ; benign #UD, then #NP delivering it: #NP, not #DF
        IDT_GATE 11, np_without_ext
        and     byte [IDT_BASE + 6 * 8 + 5], 0x7F
        ud2
        ENDTRY
        RESTORE_GATE 6
        RESTORE_GATE 11

        TRY     "serial-bp-then-np"           ; a software INT3, then #NP: delivered one after the other
        and     byte [IDT_BASE + 3 * 8 + 5], 0x7F
        int3
        ENDTRY
        RESTORE_GATE 3

        DONE

; #NP for serial-ud-then-np: prints the error code without EXT (see above) and resumes at ENDTRY.
np_without_ext:
        mov     ax, SEL_DATA0
        mov     ds, ax
        pop     eax
        and     eax, ~1
        FIELD   " #NP(err-without-EXT=", eax, 16
        PRINT   ")"
        FIELD   " eip=", [esp], 32
        jmp     lib_isr_common.recover

%include "lib/end.inc"
