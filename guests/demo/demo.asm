; tsvm demo guest: a 64 KiB ROM image for the reset vector (F000:FFF0).
;
; It runs on any x86 from the 8086 on, with no BIOS: it greets on the first serial port (COM1,
; 0x3F8) and on the debug console (0xE9), draws the Mandelbrot set in ASCII with 16-bit fixed-point
; arithmetic (a CPU-bound loop of multiplies, shifts and branches), prints a checksum of the picture,
; and powers off through the isa-debug-exit port (0xF4), so the host exits with status 1.
;
; Build: nasm -f bin -o demo.bin demo.asm   (see build.sh)

        cpu     8086
        bits    16
        org     0

COM1            equ 0x3F8
COM1_LSR        equ COM1 + 5
LSR_THR_EMPTY   equ 0x20            ; 16550 line status: transmit holding register empty
DEBUGCON        equ 0xE9
DEBUG_EXIT      equ 0xF4

WIDTH           equ 64
HEIGHT          equ 24
MAX_ITER        equ 32
FRAC            equ 12              ; fixed point 4.12
X0              equ -(5 << FRAC) // 2           ; -2.5
Y0              equ -(5 << FRAC) // 4           ; -1.25
DX_STEP         equ ((7 << FRAC) / 2) / WIDTH   ; 3.5 wide
DY_STEP         equ ((5 << FRAC) / 2) / HEIGHT  ; 2.5 high
ESCAPE          equ 4 << FRAC

start:
        cli
        cld
        xor     ax, ax
        mov     ss, ax
        mov     sp, 0x7C00
        mov     ax, cs
        mov     ds, ax

        mov     si, banner
        call    puts

        xor     bp, bp                  ; checksum of the picture
        mov     di, Y0                  ; ci
        mov     byte [ss:row], HEIGHT
.row:
        mov     bx, X0                  ; cr
        mov     byte [ss:col], WIDTH
.col:
        call    iterate                 ; cx = iterations used
        mov     si, cx
        and     si, 7
        mov     al, [palette + si]
        cmp     cx, MAX_ITER
        jne     .plot
        mov     al, '#'
.plot:
        add     bp, ax
        rol     bp, 1
        call    putc
        add     bx, DX_STEP
        dec     byte [ss:col]
        jnz     .col
        mov     al, 13
        call    putc
        mov     al, 10
        call    putc
        add     di, DY_STEP
        dec     byte [ss:row]
        jnz     .row

        mov     si, sum_text
        call    puts
        mov     ax, bp
        call    puthex16
        mov     al, 13
        call    putc
        mov     al, 10
        call    putc

        mov     al, 0
        out     DEBUG_EXIT, al          ; host exits with (0 << 1) | 1 = 1
.halt:
        hlt
        jmp     .halt

; Iterate z = z^2 + c from z = 0 with c = (bx, di); returns the count in cx (MAX_ITER if bounded).
iterate:
        push    bx
        push    di
        xor     cx, cx
        mov     word [ss:zr], 0
        mov     word [ss:zi], 0
.loop:
        mov     ax, [ss:zr]             ; |z| > 2 escapes; checking each part first keeps the squares in range
        call    abs_above_two
        jc      .done
        mov     ax, [ss:zi]
        call    abs_above_two
        jc      .done
        mov     ax, [ss:zr]
        call    fmul_self               ; ax = zr^2
        mov     [ss:zr2], ax
        mov     ax, [ss:zi]
        call    fmul_self               ; ax = zi^2
        mov     [ss:zi2], ax
        add     ax, [ss:zr2]
        jo      .done
        cmp     ax, ESCAPE
        jg      .done
        mov     ax, [ss:zr]
        mov     dx, [ss:zi]
        call    fmul                    ; ax = zr * zi
        shl     ax, 1                   ; 2 * zr * zi
        add     ax, di
        mov     [ss:zi], ax
        mov     ax, [ss:zr2]
        sub     ax, [ss:zi2]
        add     ax, bx
        mov     [ss:zr], ax
        inc     cx
        cmp     cx, MAX_ITER
        jb      .loop
.done:
        pop     di
        pop     bx
        ret

; Carry set if |ax| > 2.0.
abs_above_two:
        test    ax, ax
        jns     .positive
        neg     ax
.positive:
        cmp     ax, 2 << FRAC
        ja      .above
        clc
        ret
.above:
        stc
        ret

fmul_self:
        mov     dx, ax
; ax = (ax * dx) >> FRAC, signed
fmul:
        push    cx
        imul    dx                      ; dx:ax = ax * dx
        mov     cl, FRAC
        shr     ax, cl
        mov     cl, 16 - FRAC
        shl     dx, cl
        or      ax, dx
        pop     cx
        ret

; Print the NUL-terminated string at cs:si.
puts:
        cs lodsb
        test    al, al
        jz      .end
        call    putc
        jmp     puts
.end:
        ret

; Print ax as four hex digits.
puthex16:
        mov     cx, 4
.digit:
        push    cx
        mov     cl, 4
        rol     ax, cl
        pop     cx
        push    ax
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .out
        add     al, 'A' - '9' - 1
.out:
        call    putc
        pop     ax
        loop    .digit
        ret

; Send al to COM1 (waiting for the transmitter) and to the debug console.
putc:
        push    dx
        push    ax
        mov     dx, COM1_LSR
        mov     ah, 0                   ; bounded wait: a missing UART reads 0xFF and passes at once
.wait:
        in      al, dx
        test    al, LSR_THR_EMPTY
        jnz     .ready
        dec     ah
        jnz     .wait
.ready:
        pop     ax
        mov     dx, COM1
        out     dx, al
        out     DEBUGCON, al
        pop     dx
        ret

banner:   db "tsvm demo guest: Mandelbrot set, 16-bit fixed point", 13, 10, 0
sum_text: db "picture checksum: ", 0
palette:  db " .:-=+*%"

; Variables live in RAM below the stack (ss = 0).
zr      equ 0x7000
zi      equ 0x7002
zr2     equ 0x7004
zi2     equ 0x7006
row     equ 0x7008
col     equ 0x7009

        times 0xFFF0 - ($ - $$) db 0xFF
reset_vector:                           ; F000:FFF0
        jmp     0xF000:start
        times 0x10000 - ($ - $$) db 0xFF
