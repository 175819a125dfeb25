; Virtual-8086 mode (Intel SDM vol. 3A, chapter 20): entry by IRETD at CPL 0 with VM in the popped
; EFLAGS (which also pops ESP, SS, ES, DS, FS, GS) and by a task switch to a TSS with VM set;
; real-mode segments; INT n with IOPL 3 through a DPL-3 IDT gate to a ring-0 handler (the stack frame
; with the v86 segment registers, the data segments nulled, VM/TF/NT cleared) and IRETD back; the
; IOPL-sensitive instructions (CLI, STI, PUSHF, POPF, IRET, INT n) faulting with #GP(0) at IOPL 0
; and a ring-0 #GP handler that skips them, then takes the program out of v86 mode; POPF and IRET
; unable to change IOPL at IOPL 3; INT3 through a DPL-0 gate (#GP(1Ah)); port I/O in v86 mode
; going through the TSS I/O bitmap whatever IOPL is; paging at CPL 3 (a remapped page, #PF on a
; supervisor page). CR4.VME is not used.
;
; v86 code prints through port 0xE9, which the I/O bitmap of every TSS here allows. EFLAGS images
; pushed by faults are printed without RF, which a P6 sets there and QEMU does not.

%include "lib/boot.inc"

SEL_IOTSS       equ 0x30            ; the main task's TSS: SS0:ESP0 and an I/O bitmap
SEL_V86TSS      equ 0x38            ; a task that starts in v86 mode
IOTSS           equ FREE_RAM
V86TSS          equ FREE_RAM + 0x1000
IOMAP           equ 0x68
IOTSS_LIMIT     equ IOMAP + 0x20    ; bitmap for ports 0-FFh, then the all-ones byte at the limit
V86_PD          equ FREE_RAM + 0x4000   ; page directory and table for the paging checks
V86_PT          equ FREE_RAM + 0x5000
V86_SS          equ 0x1800          ; v86 stack at linear 0x18000-0x19000
V86_SP          equ 0x1000
EFL_VM          equ 0x20000
EFL_IOPL3       equ 0x3000
EFL_NT          equ 0x4000
V86_VECTOR      equ 0x31            ; INT 31h: DPL 3 interrupt gate to a ring-0 handler
TASK_VECTOR     equ 0x32            ; INT 32h: DPL 3 gate; its handler returns to the calling task

%define V(label) ((label) - 0xF0000)    ; a label's offset in the ROM segment F000h

; BUILD_IOTSS base, esp0: a 32-bit TSS with SS0:ESP0 = SEL_DATA0:esp0 and a bitmap allowing E9h only.
%macro BUILD_IOTSS 2
        mov     edi, %1
        xor     eax, eax
        mov     ecx, IOMAP / 4
        rep     stosd
        mov     dword [%1 + 4], %2
        mov     dword [%1 + 8], SEL_DATA0
        mov     word [%1 + 0x66], IOMAP
        mov     edi, %1 + IOMAP
        mov     al, 0xFF
        mov     ecx, 0x21
        rep     stosb
        and     byte [%1 + IOMAP + (DEBUGCON >> 3)], ~(1 << (DEBUGCON & 7))
%endmacro

; ENTER_V86 ip, eflags: IRETD from CPL 0 into v86 mode at F000:ip with the test's segment values.
%macro ENTER_V86 2
        push    dword 0x4567            ; GS
        push    dword 0x3456            ; FS
        push    dword 0x1234            ; DS
        push    dword 0x2345            ; ES
        push    dword V86_SS
        push    dword V86_SP
        push    dword EFL_VM | (%2)
        push    dword 0xF000
        push    dword V(%1)
        iretd
%endmacro

; --- v86-side output (16-bit code, any DS) ------------------------------------------------------
%macro V86_PRINT 1+
        call    v86_print_inline
        db      %1, 0
%endmacro
%macro V86_FIELD 2
        V86_PRINT %1
        push    ax
        mov     ax, %2
        call    v86_hex16
        pop     ax
%endmacro

test_main:
        SET_DESC SEL_IOTSS, IOTSS, IOTSS_LIMIT, 0x89, 0
        SET_DESC SEL_V86TSS, V86TSS, IOTSS_LIMIT, 0x89, 0
        BUILD_IOTSS IOTSS, KSTACK_TOP
        BUILD_IOTSS V86TSS, 0xC000
        ; the v86 task: F000:v86_task, flags VM | IOPL 3, its own segments and stack
        mov     dword [V86TSS + 0x20], V(v86_task)
        mov     dword [V86TSS + 0x24], EFL_VM | EFL_IOPL3 | 2
        mov     dword [V86TSS + 0x38], 0x0800
        mov     dword [V86TSS + 0x48], 0x5555   ; ES
        mov     dword [V86TSS + 0x4C], 0xF000   ; CS
        mov     dword [V86TSS + 0x50], V86_SS   ; SS
        mov     dword [V86TSS + 0x54], 0x6666   ; DS
        mov     dword [V86TSS + 0x58], 0x7777   ; FS
        mov     dword [V86TSS + 0x5C], 0x8888   ; GS
        mov     ax, SEL_IOTSS
        ltr     ax
        IDT_GATE 13, v86_gp
        IDT_GATE V86_VECTOR, int31_handler, GATE_INT32 | ACC_DPL3
        IDT_GATE TASK_VECTOR, int32_handler, GATE_INT32 | ACC_DPL3

        TRY     "v86-entry"
        ENTER_V86 v86_entry, EFL_IOPL3 | 2
        ENDTRY
        FIELD   "v86-segment-base linear23460=", [0x23460], 16
        NL

        TRY     "v86-int-to-ring0"
        ENTER_V86 v86_int, EFL_IOPL3 | 2
        ENDTRY

        TRY     "v86-popf-keeps-iopl"
        ENTER_V86 v86_popf, EFL_IOPL3 | 2
        ENDTRY

        TRY     "v86-iret-keeps-iopl"
        ENTER_V86 v86_iret, EFL_IOPL3 | 2
        ENDTRY

        TRY     "v86-int3-dpl0-gate"
        ENTER_V86 v86_int3, EFL_IOPL3 | 2
        ENDTRY

        TRY     "v86-iopl0"
        ENTER_V86 v86_iopl0, 2
        ENDTRY

        ; Paging applies in v86 mode, at CPL 3: the first 4 MiB identity-mapped and user-accessible,
        ; except linear 40000h -> physical 50000h and 60000h a supervisor page.
        mov     dword [0x40000], 0x11111111
        mov     dword [0x50000], 0x5555AAAA
        mov     edi, V86_PT
        mov     eax, 7                  ; present, writable, user
        mov     ecx, 1024
.pte:
        mov     [edi], eax
        add     edi, 4
        add     eax, 0x1000
        loop    .pte
        mov     dword [V86_PT + 0x40 * 4], 0x50000 | 7
        mov     dword [V86_PT + 0x60 * 4], 0x60000 | 3
        mov     dword [V86_PD], V86_PT | 7
        mov     eax, V86_PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, 0x80000000
        mov     cr0, eax

        TRY     "v86-paging"
        ENTER_V86 v86_paging, EFL_IOPL3 | 2
        ENDTRY
        TRY     "v86-supervisor-page"
        ENTER_V86 v86_supervisor, EFL_IOPL3 | 2
        ENDTRY

        mov     eax, cr0
        and     eax, 0x7FFFFFFF
        mov     cr0, eax
        FIELD   "v86-paging-write physical50004=", [0x50004], 16
        FIELD   " physical40004=", [0x40004], 16
        NL

        TRY     "v86-task"
        call    SEL_V86TSS:0
        str     ax
        FIELD   " back tr=", eax, 16
        FIELD   " busy-v86=", [GDT_BASE + SEL_V86TSS + 5], 8
        FIELD   " v86.saved-cs=", [V86TSS + 0x4C], 16
        FIELD   " v86.saved-ds=", [V86TSS + 0x54], 16
        ENDTRY
        DONE

; INT 31h from v86 mode: prints the frame the CPU built on the ring-0 stack and the ring-0 data
; segments, sets AX to BEEFh and returns to v86 mode with IRETD.
int31_handler:                      ; [esp] EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS
        pushfd
        push    ebp
        mov     ebp, esp            ; +8 EIP ... +40 GS; +4 the handler's EFLAGS
        mov     ax, ds
        FIELD   " r0.ds=", eax, 16
        mov     ax, es
        FIELD   " r0.es=", eax, 16
        mov     ax, fs
        FIELD   " r0.fs=", eax, 16
        mov     ax, gs
        FIELD   " r0.gs=", eax, 16
        mov     ax, ss
        FIELD   " r0.ss=", eax, 16
        FIELD   " r0.eflags=", [ebp + 4], 32
        FIELD   " eip=", [ebp + 8], 32
        FIELD   " cs=", [ebp + 12], 32
        FIELD   " eflags=", [ebp + 16], 32
        FIELD   " esp=", [ebp + 20], 32
        FIELD   " ss=", [ebp + 24], 32
        FIELD   " es=", [ebp + 28], 32
        FIELD   " ds=", [ebp + 32], 32
        FIELD   " fs=", [ebp + 36], 32
        FIELD   " gs=", [ebp + 40], 32
        lea     eax, [ebp + 44]
        FIELD   " r0.esp-top=", eax, 32
        pop     ebp
        popfd
        mov     ax, 0xBEEF
        iretd

; INT 32h in the v86 task: back to the task that called it (IRETD with NT set).
int32_handler:
        str     ax
        FIELD   " r0.tr=", eax, 16
        FIELD   " link=", [ss:V86TSS], 16
        pushfd
        or      dword [esp], EFL_NT
        popfd
        iretd

; #GP: from v86 mode, prints the faulting opcode and error code and skips the instruction; an
; INT RING0_VECTOR leaves v86 mode for the current TRY's end. Other #GPs go to the library.
v86_gp:                             ; [esp] error, EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS
        test    dword [esp + 12], EFL_VM
        jz      lib_isr_stubs + 13 * 16
        push    ebp
        mov     ebp, esp            ; +4 error, +8 EIP, +12 CS, +16 EFLAGS
        push    eax
        push    ebx
        mov     ax, SEL_DATA0
        mov     ds, ax
        movzx   eax, word [ebp + 12]
        shl     eax, 4
        add     eax, [ebp + 8]
        movzx   ebx, byte [eax]
        FIELD   " gp:op=", ebx, 8
        FIELD   " err=", [ebp + 4], 16
        ; RF is left out: a P6 pushes RF = 1 for a fault (SDM vol. 3A, 17.3.1.1), QEMU 7.2 pushes 0.
        mov     eax, [ebp + 16]
        and     eax, ~0x10000
        FIELD   " eflags=", eax, 32
        movzx   eax, word [ebp + 12]
        shl     eax, 4
        add     eax, [ebp + 8]
        cmp     bl, 0xCD
        jne     .one_byte
        cmp     byte [eax + 1], RING0_VECTOR
        je      .leave
        add     dword [ebp + 8], 2
        jmp     .back
.one_byte:
        inc     dword [ebp + 8]
.back:
        pop     ebx
        pop     eax
        pop     ebp
        add     esp, 4              ; the error code
        iretd
.leave:
        PRINT   " left-v86"
        mov     ax, SEL_DATA0
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        mov     esp, [lib_recover_esp]
        push    dword 2
        popfd
        jmp     [lib_recover]

; --- v86 code (16-bit, CS = F000h) ------------------------------------------------------------
        bits    16
v86_entry:
        mov     bx, sp
        pushf
        pop     cx
        pushfd
        pop     edx
        V86_FIELD " cs=", cs
        V86_FIELD " ds=", ds
        V86_FIELD " es=", es
        V86_FIELD " fs=", fs
        V86_FIELD " gs=", gs
        V86_FIELD " ss=", ss
        V86_FIELD " sp=", bx
        V86_FIELD " flags=", cx
        shr     edx, 16
        V86_FIELD " eflags.hi=", dx
        mov     word [es:0x10], 0x5AA5  ; ES = 2345h: linear 23460h
        int     RING0_VECTOR

v86_int:
        mov     ax, 0x1111
        int     V86_VECTOR
        V86_FIELD " after:ax=", ax
        V86_FIELD " ds=", ds
        V86_FIELD " es=", es
        V86_FIELD " fs=", fs
        V86_FIELD " gs=", gs
        mov     bx, sp
        V86_FIELD " sp=", bx
        int     RING0_VECTOR

v86_popf:
        pushf
        pop     ax
        and     ax, 0xCFFF              ; IOPL 0 in the image
        push    ax
        popf
        pushf
        pop     ax
        V86_FIELD " flags=", ax
        int     RING0_VECTOR

v86_iret:
        push    word 0x0002             ; FLAGS image with IOPL 0
        push    cs
        push    word V(.next)
        iret
.next:
        pushf
        pop     ax
        V86_FIELD " flags=", ax
        int     RING0_VECTOR

v86_int3:
        int3
        V86_PRINT " resumed"
        int     RING0_VECTOR

v86_iopl0:
        cli
        sti
        pushf
        popf
        iret
        int     V86_VECTOR
        V86_PRINT " io-through-bitmap"
        int     RING0_VECTOR            ; #GP at IOPL 0: the handler leaves v86 mode

v86_paging:
        mov     ax, 0x4000
        mov     ds, ax
        mov     ax, [0]                 ; linear 40000h: physical 50000h
        V86_FIELD " [4000:0]=", ax
        mov     word [4], 0x7777
        int     RING0_VECTOR

v86_supervisor:
        mov     ax, 0x6000
        mov     es, ax
        mov     ax, [es:0]              ; a supervisor page at CPL 3: #PF
        int     RING0_VECTOR

v86_task:
        pushf
        pop     cx
        V86_FIELD " cs=", cs
        V86_FIELD " ds=", ds
        V86_FIELD " es=", es
        V86_FIELD " ss=", ss
        mov     bx, sp
        V86_FIELD " sp=", bx
        V86_FIELD " flags=", cx
        int     TASK_VECTOR

; v86_print_inline: prints the string after the CALL (through CS) and returns past it.
v86_print_inline:
        push    bp
        mov     bp, sp
        push    ax
        push    si
        mov     si, [bp + 2]
.next:
        cs lodsb
        test    al, al
        jz      .end
        out     DEBUGCON, al
        jmp     .next
.end:
        mov     [bp + 2], si
        pop     si
        pop     ax
        pop     bp
        ret

; v86_hex16: prints AX as 4 hex digits.
v86_hex16:
        push    ax
        push    cx
        push    dx
        mov     dx, ax
        mov     cx, 4
.digit:
        rol     dx, 4
        mov     al, dl
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .out
        add     al, 'A' - '9' - 1
.out:
        out     DEBUGCON, al
        loop    .digit
        pop     dx
        pop     cx
        pop     ax
        ret
        bits    32

%include "lib/end.inc"
