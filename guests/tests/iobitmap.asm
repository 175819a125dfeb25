; The I/O permission bitmap (Intel SDM vol. 1, 19.5): at CPL 3 with IOPL 0, IN, OUT, INS and OUTS
; may use a port only when the bits of every byte of the access are clear in the bitmap of the
; current 32-bit TSS; the bitmap starts at the offset stored at TSS offset 66h, two bytes are read
; for every check and both must lie within the TSS limit. Otherwise #GP(0). CPL <= IOPL skips the
; bitmap; a 16-bit TSS has none.
;
; Ring 3 prints through the ports the bitmap allows (0xE9), so a passing access shows its output.

%include "lib/boot.inc"

SEL_IOTSS       equ 0x30            ; 32-bit TSS with a bitmap for ports 0-3FFh
SEL_TSS16       equ 0x38            ; 16-bit TSS (no bitmap)
IOTSS           equ FREE_RAM
IOMAP           equ 0x68            ; bitmap offset in the TSS
IOTSS_LIMIT     equ IOMAP + 0x80    ; 128 bitmap bytes, then the all-ones byte at the limit
TSS16           equ FREE_RAM + 0x1000
USER_BUF        equ FREE_RAM + 0x2000

; R3_PUTS "text": REP OUTSB of the text to the debug console (from any ring the bitmap allows).
%macro R3_PUTS 1
        jmp     %%go
%%text: db      %1
%%go:
        mov     esi, %%text
        mov     ecx, %%go - %%text
        mov     dx, DEBUGCON
        rep outsb
%endmacro

; IN_AT port, size: ring 3 reads `port` with an access of `size` bytes (1, 2 or 4), then RING0.
%macro IN_AT 2
        ENTER_RING3 %%ring3
%%ring3:
        mov     dx, %1
  %if %2 == 1
        in      al, dx
  %elif %2 == 2
        in      ax, dx
  %else
        in      eax, dx
  %endif
        RING0
%endmacro

test_main:
        SET_DESC SEL_IOTSS, IOTSS, IOTSS_LIMIT, 0x89, 0
        mov     edi, IOTSS
        xor     eax, eax
        mov     ecx, IOMAP / 4
        rep     stosd
        mov     dword [IOTSS + 4], KSTACK_TOP
        mov     dword [IOTSS + 8], SEL_DATA0
        mov     word [IOTSS + 0x66], IOMAP
        ; deny every port, then allow E9h, 2F8h-2FFh and 3FFh
        mov     edi, IOTSS + IOMAP
        mov     al, 0xFF
        mov     ecx, 0x81
        rep     stosb
        and     byte [IOTSS + IOMAP + (DEBUGCON >> 3)], ~(1 << (DEBUGCON & 7))
        mov     byte [IOTSS + IOMAP + (0x2F8 >> 3)], 0
        mov     byte [IOTSS + IOMAP + (0x3FF >> 3)], 0x7F
        mov     ax, SEL_IOTSS
        ltr     ax

        TRY     "out-imm8-allowed "
        ENTER_RING3 .r1
.r1:
        mov     al, '+'
        out     DEBUGCON, al
        RING0
        ENDTRY

        TRY     "outsb-allowed "
        ENTER_RING3 .r2
.r2:
        R3_PUTS "from-ring3"
        RING0
        ENDTRY

        TRY     "in8-denied"
        IN_AT   0x300, 1
        ENDTRY

        TRY     "in-imm8-denied"
        ENTER_RING3 .r3
.r3:
        in      al, 0x80
        RING0
        ENDTRY

        TRY     "in16-allowed"
        IN_AT   0x2FE, 2
        ENDTRY

        TRY     "in16-straddle-denied"
        IN_AT   0x2FF, 2
        ENDTRY

        TRY     "in32-allowed"
        IN_AT   0x2F8, 4
        ENDTRY

        TRY     "in32-straddle-denied"
        IN_AT   0x2FD, 4
        ENDTRY

        TRY     "in8-last-port"
        IN_AT   0x3FF, 1
        ENDTRY

        TRY     "in16-into-terminator"
        IN_AT   0x3FF, 2
        ENDTRY

        TRY     "in8-past-limit"
        IN_AT   0x400, 1
        ENDTRY

        TRY     "out16-e9-straddle-denied"
        ENTER_RING3 .r4
.r4:
        mov     ax, 0x2121
        out     DEBUGCON, ax            ; E9h allowed, EAh denied
        RING0
        ENDTRY

        TRY     "insb-denied"
        ENTER_RING3 .r5
.r5:
        mov     dx, 0x300
        mov     edi, USER_BUF
        insb
        RING0
        ENDTRY

        TRY     "rep-outsb-denied"
        ENTER_RING3 .r6
.r6:
        mov     dx, 0x300
        mov     esi, USER_BUF
        mov     ecx, 4
        rep outsb
        RING0
        ENDTRY
        FIELD   "rep-outsb-denied ecx=", [lib_fault_regs + 24], 32
        NL

        TRY     "iopl3-skips-bitmap"
        ENTER_RING3 .r7, 0x3002
.r7:
        mov     dx, 0x300
        in      al, dx
        RING0
        ENDTRY

        TRY     "cpl0-skips-bitmap"
        mov     dx, 0x300
        in      al, dx
        ENDTRY

        TRY     "map-base-past-limit"
        mov     word [IOTSS + 0x66], IOTSS_LIMIT + 1
        ENTER_RING3 .r8
.r8:
        mov     al, '+'
        out     DEBUGCON, al
        RING0
        ENDTRY
        mov     word [IOTSS + 0x66], IOMAP

        TRY     "map-base-back "
        ENTER_RING3 .r9
.r9:
        R3_PUTS "printed"
        RING0
        ENDTRY

        ; A 16-bit TSS has no bitmap: above IOPL every port faults.
        SET_DESC SEL_TSS16, TSS16, 0x2B, 0x81, 0
        mov     edi, TSS16
        xor     eax, eax
        mov     ecx, 0x2C / 4
        rep     stosd
        mov     word [TSS16 + 2], KSTACK_TOP
        mov     word [TSS16 + 4], SEL_DATA0
        mov     ax, SEL_TSS16
        ltr     ax
        TRY     "tss16-denied"
        ENTER_RING3 .r10
.r10:
        mov     al, '+'
        out     DEBUGCON, al
        RING0
        ENDTRY
        DONE

%include "lib/end.inc"
