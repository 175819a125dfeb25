; Hardware task switches (Intel SDM vol. 3A, chapter 7): CALL to a TSS and IRET back through the
; back link (NT), JMP through a task gate and JMP back to a TSS, INT n and an exception (#NP, with its
; error code pushed on the new task's stack) through task gates in the IDT, a 16-bit TSS, the busy
; bits and NT after each kind of switch, CR0.TS, and the faults a switch checks before it starts:
; #GP for a busy TSS and for a task gate above CPL, #TS for a TSS limit below 67h, #NP for a TSS
; that is not present.
;
; Left out because QEMU 7.2 (TCG) reports them differently from the SDM: faults found after the
; commit point of a switch (the new task's segment checks), which the SDM delivers in the context of
; the new task while QEMU restores the old task's EIP. tsvm's unit tests cover those
; (packages/cpu/src/task-switch.test.ts). The general registers' high halves after a switch to a
; 16-bit TSS are undefined and not printed. A task with its own LDT checks that LDTR comes from the
; TSS and that the segment loads of the switch use it.

%include "lib/boot.inc"

SEL_TSS_B       equ 0x30            ; 32-bit TSS: a task called, then jumped to
SEL_TSS_C       equ 0x38            ; 32-bit TSS: the #NP handler task (IDT vector 11)
SEL_GATE_B      equ 0x40            ; task gate to SEL_TSS_B, DPL 0
SEL_TSS_D       equ 0x48            ; 16-bit TSS
SEL_CODE16      equ 0x50            ; 16-bit code, base 0xF0000 (task D runs here)
SEL_TSS_SHORT   equ 0x58            ; 32-bit TSS with limit 50h (< 67h)
SEL_TSS_NP      equ 0x60            ; 32-bit TSS, not present
SEL_DATA_NP     equ 0x68            ; data segment, not present
SEL_TSS_G       equ 0x70            ; 32-bit TSS: the INT 41h handler task
SEL_STACK16     equ 0x78            ; 16-bit data (B = 0), base 0, limit FFFFh: task D's stack
SEL_TSS_E       equ 0x80            ; 32-bit TSS: a task with its own LDT
SEL_LDT_E       equ 0x88            ; task E's LDT (2 descriptors)
SEL_E_DATA      equ 0x0C            ; task E's LDT entry 1: data at 0x30000

TSS_B           equ FREE_RAM + 0x000
TSS_C           equ FREE_RAM + 0x100
TSS_D           equ FREE_RAM + 0x200
TSS_SHORT       equ FREE_RAM + 0x300
TSS_NP          equ FREE_RAM + 0x400
TSS_G           equ FREE_RAM + 0x500
TSS_E           equ FREE_RAM + 0x600
LDT_E           equ FREE_RAM + 0x700
VARS            equ FREE_RAM + 0x800
v_tr            equ VARS + 0x00     ; what the other tasks saw, printed by the main task
v_link          equ VARS + 0x04
v_efl           equ VARS + 0x08
v_busy_a        equ VARS + 0x0C
v_busy_b        equ VARS + 0x10
v_err           equ VARS + 0x14
v_eip           equ VARS + 0x18
v_esp           equ VARS + 0x1C
v_resume        equ VARS + 0x20     ; where the #NP task sends the faulting (main) task
v_ldtr          equ VARS + 0x24

GATE_TASK       equ 0x85            ; present, DPL 0, task gate
TSS_AVAILABLE32 equ 0x89
TSS_AVAILABLE16 equ 0x81

; INIT_TSS32 base, eip, esp: a 32-bit TSS for a ring-0 task on the flat segments, EFLAGS 2.
%macro INIT_TSS32 3
        mov     edi, %1
        xor     eax, eax
        mov     ecx, 0x68 / 4
        rep     stosd
        mov     dword [%1 + 0x20], %2
        mov     dword [%1 + 0x24], 2
        mov     dword [%1 + 0x38], %3
        mov     dword [%1 + 0x48], SEL_DATA0
        mov     dword [%1 + 0x4C], SEL_CODE0
        mov     dword [%1 + 0x50], SEL_DATA0
        mov     dword [%1 + 0x54], SEL_DATA0
        mov     word [%1 + 0x66], 0x68
%endmacro

; TASK_INFO: records TR, the back link and EFLAGS of the running task and the busy types of the
; main task's TSS and TSS B.
%macro TASK_INFO 0
        str     ax
        movzx   eax, ax
        mov     [v_tr], eax
        pushfd
        pop     eax
        mov     [v_efl], eax
        movzx   eax, byte [GDT_BASE + SEL_TSS + 5]
        mov     [v_busy_a], eax
        movzx   eax, byte [GDT_BASE + SEL_TSS_B + 5]
        mov     [v_busy_b], eax
%endmacro

test_main:
        SET_DESC SEL_TSS_B, TSS_B, 0x67, TSS_AVAILABLE32, 0
        SET_DESC SEL_TSS_C, TSS_C, 0x67, TSS_AVAILABLE32, 0
        SET_GATE GDT_BASE, SEL_GATE_B / 8, SEL_TSS_B, 0, GATE_TASK
        SET_DESC SEL_TSS_D, TSS_D, 0x2B, TSS_AVAILABLE16, 0
        SET_DESC SEL_CODE16, 0xF0000, 0xFFFF, 0x9B, 0
        SET_DESC SEL_TSS_SHORT, TSS_SHORT, 0x50, TSS_AVAILABLE32, 0
        SET_DESC SEL_TSS_NP, TSS_NP, 0x67, TSS_AVAILABLE32 & 0x7F, 0
        SET_DESC SEL_DATA_NP, 0, 0xFFFFF, 0x13, FLG_G | FLG_32
        SET_DESC SEL_TSS_G, TSS_G, 0x67, TSS_AVAILABLE32, 0
        SET_DESC SEL_STACK16, 0, 0xFFFF, 0x93, 0
        SET_DESC SEL_TSS_E, TSS_E, 0x67, TSS_AVAILABLE32, 0
        SET_DESC SEL_LDT_E, LDT_E, 0xF, 0x82, 0
        mov     dword [LDT_E], 0
        mov     dword [LDT_E + 4], 0
        mov     dword [LDT_E + 8], 0x0000FFFF           ; base 0x30000, limit FFFFh, data
        mov     dword [LDT_E + 12], 0x00409303
        mov     dword [0x30000], 0x600DDA7A
        INIT_TSS32 TSS_E, task_e, 0x9A00
        mov     dword [TSS_E + 0x54], SEL_E_DATA        ; DS from the LDT
        mov     dword [TSS_E + 0x60], SEL_LDT_E
        INIT_TSS32 TSS_B, task_b, 0x9000
        INIT_TSS32 TSS_C, task_c, 0x9400
        INIT_TSS32 TSS_G, task_g, 0x9800
        INIT_TSS32 TSS_SHORT, task_b, 0x9000
        ; the 16-bit TSS of task D: IP, FLAGS, SP, ES, CS, SS, DS, LDT
        mov     edi, TSS_D
        xor     eax, eax
        mov     ecx, 0x2C / 4
        rep     stosd
        mov     word [TSS_D + 0x0E], task_d - 0xF0000
        mov     word [TSS_D + 0x10], 2
        mov     word [TSS_D + 0x1A], 0x9C00
        mov     word [TSS_D + 0x22], SEL_DATA0
        mov     word [TSS_D + 0x24], SEL_CODE16
        mov     word [TSS_D + 0x26], SEL_STACK16
        mov     word [TSS_D + 0x28], SEL_DATA0
        SET_GATE IDT_BASE, 11, SEL_TSS_C, 0, GATE_TASK          ; #NP: a task
        SET_GATE IDT_BASE, 0x41, SEL_TSS_G, 0, GATE_TASK        ; INT 41h: a task

        TRY     "ltr"
        str     ax
        FIELD   " tr=", eax, 16
        FIELD   " busy-type=", [GDT_BASE + SEL_TSS + 5], 8
        ENDTRY

        TRY     "call-tss"
        clts
        mov     ebx, 0xA0A0A0A0
        call    SEL_TSS_B:0
        FIELD   " b.tr=", [v_tr], 16
        FIELD   " b.link=", [v_link], 16
        FIELD   " b.eflags=", [v_efl], 32
        FIELD   " b.busy-main=", [v_busy_a], 8
        FIELD   " b.busy-b=", [v_busy_b], 8
        ENDTRY

        TRY     "iret-back"
        FIELD   " ebx=", ebx, 32
        str     ax
        FIELD   " tr=", eax, 16
        FIELD   " busy-main=", [GDT_BASE + SEL_TSS + 5], 8
        FIELD   " busy-b=", [GDT_BASE + SEL_TSS_B + 5], 8
        mov     eax, cr0
        and     eax, 8
        FIELD   " cr0.ts=", eax, 8
        FIELD   " b.saved-eip=", [TSS_B + 0x20], 32
        FIELD   " b.saved-eflags=", [TSS_B + 0x24], 32
        FIELD   " b.saved-ebx=", [TSS_B + 0x34], 32
        ENDTRY

        TRY     "jmp-task-gate"
        call    jump_to_b
        FIELD   " b.tr=", [v_tr], 16
        FIELD   " b.eflags=", [v_efl], 32
        FIELD   " b.busy-main=", [v_busy_a], 8
        FIELD   " b.busy-b=", [v_busy_b], 8
        FIELD   " busy-main=", [GDT_BASE + SEL_TSS + 5], 8
        FIELD   " busy-b=", [GDT_BASE + SEL_TSS_B + 5], 8
        FIELD   " main.saved-eip=", [TSS_BASE + 0x20], 32
        ENDTRY

        TRY     "np-exception-task"
        mov     dword [v_resume], .np_resume
        mov     ax, SEL_DATA_NP
.np_fault:
        mov     ds, ax
.np_resume:
        FIELD   " c.err=", [v_err], 16
        FIELD   " c.link=", [v_link], 16
        FIELD   " c.eflags=", [v_efl], 32
        FIELD   " c.esp=", [v_esp], 32
        mov     eax, [v_eip]
        sub     eax, .np_fault
        FIELD   " fault-eip-delta=", eax, 32
        FIELD   " busy-c=", [GDT_BASE + SEL_TSS_C + 5], 8
        mov     ax, ds
        FIELD   " ds=", eax, 16
        ENDTRY

        TRY     "np-tss-task"
        mov     dword [v_resume], .np2_resume
        jmp     SEL_TSS_NP:0
.np2_resume:
        FIELD   " c.err=", [v_err], 16
        FIELD   " c.link=", [v_link], 16
        ENDTRY

        TRY     "int-task-gate"
        mov     edx, 0x12345678
        int     0x41
        FIELD   " g.tr=", [v_tr], 16
        FIELD   " g.link=", [v_link], 16
        FIELD   " g.eflags=", [v_efl], 32
        FIELD   " g.edx=", [v_err], 32
        FIELD   " busy-g=", [GDT_BASE + SEL_TSS_G + 5], 8
        ENDTRY

        TRY     "call-tss16"
        call    SEL_TSS_D:0
        FIELD   " d.tr=", [v_tr], 16
        FIELD   " d.link=", [v_link], 16
        FIELD   " d.flags=", [v_efl], 16
        FIELD   " busy-d=", [GDT_BASE + SEL_TSS_D + 5], 8
        FIELD   " d.saved-ip=", [TSS_D + 0x0E], 16
        ENDTRY

        TRY     "call-task-with-ldt"
        sldt    ax
        FIELD   " main.ldtr=", eax, 16
        call    SEL_TSS_E:0
        FIELD   " e.ldtr=", [v_ldtr], 16
        FIELD   " e.ds=", [v_tr], 16
        FIELD   " e.[ds:0]=", [v_err], 32
        sldt    ax
        FIELD   " main.ldtr-after=", eax, 16
        FIELD   " ldt-accessed=", [LDT_E + 13], 8
        ENDTRY

        TRY     "jmp-busy-tss"
        jmp     SEL_TSS:0
        ENDTRY

        TRY     "call-short-tss"
        call    SEL_TSS_SHORT:0
        ENDTRY

        TRY     "jmp-task-gate-from-ring3"
        ENTER_RING3 .ring3
.ring3:
        jmp     SEL_GATE_B:0
        ENDTRY

        TRY     "tss-in-ds"
        mov     ax, SEL_TSS_B
        mov     ds, ax
        ENDTRY

        TRY     "final"
        str     ax
        FIELD   " tr=", eax, 16
        FIELD   " busy-main=", [GDT_BASE + SEL_TSS + 5], 8
        FIELD   " busy-b=", [GDT_BASE + SEL_TSS_B + 5], 8
        FIELD   " busy-c=", [GDT_BASE + SEL_TSS_C + 5], 8
        FIELD   " busy-d=", [GDT_BASE + SEL_TSS_D + 5], 8
        ENDTRY
        DONE

jump_to_b:
        jmp     SEL_GATE_B:0
        ret                             ; the main task resumes here when B jumps back

; Task B: first called (NT set, back link = the main task), returns with IRETD; the second time it
; is entered by a JMP through a task gate (no NT, no link change) and jumps back to the main task.
task_b:
        mov     ebx, 0xB0B0B0B0
        TASK_INFO
        movzx   eax, word [TSS_B]
        mov     [v_link], eax
        iretd
        TASK_INFO
        jmp     SEL_TSS:0

; Task C: the #NP handler. Each entry pops the error code the switch pushed, records it and the
; interrupted task, points that task (the main one) at v_resume and returns to it.
task_c:
        mov     [v_esp], esp
        pop     eax
        mov     [v_err], eax
        movzx   eax, word [TSS_C]
        mov     [v_link], eax
        pushfd
        pop     eax
        mov     [v_efl], eax
        mov     eax, [TSS_BASE + 0x20]
        mov     [v_eip], eax
        mov     eax, [v_resume]
        mov     [TSS_BASE + 0x20], eax
        iretd
        jmp     task_c

; Task G: INT 41h through a task gate.
task_g:
        str     ax
        movzx   eax, ax
        mov     [v_tr], eax
        movzx   eax, word [TSS_G]
        mov     [v_link], eax
        pushfd
        pop     eax
        mov     [v_efl], eax
        mov     [v_err], edx
        iretd
        jmp     task_g

; Task E: LDTR and DS come from its TSS; DS names a descriptor in that LDT.
task_e:
        mov     eax, [0]
        mov     [ss:v_err], eax
        sldt    ax
        mov     [ss:v_ldtr], eax
        mov     ax, ds
        mov     [ss:v_tr], eax
        iretd

; Task D: 16-bit code in a 16-bit TSS, called; IRET (16-bit) returns through the back link.
        bits    16
task_d:
        str     ax
        mov     [dword v_tr], ax
        mov     ax, [dword TSS_D]
        mov     [dword v_link], ax
        pushf
        pop     ax
        mov     [dword v_efl], ax
        iret
        bits    32

%include "lib/end.inc"
