; A boot sector for firmware boots: the BIOS loads it at 0000:7C00 from the boot disk and jumps to it
; with the drive number in DL. It prints a line on the screen (INT 10h) and on COM1 (port 0x3F8), reads
; block 1 of the boot drive through INT 13h AH=42h and checks the text there, prints the result and leaves
; through isa-debug-exit (port 0xF4): 0x10 when everything worked (exit status 33), 0x11 when not (35).
; nasm -f bin boot.asm -o boot.bin  (1024 bytes: the boot sector and the sector it reads)

bits 16
org 0x7c00

COM1 equ 0x3f8
DEBUG_EXIT equ 0xf4
BUFFER equ 0x8000

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov [drive], dl

    mov si, hello
    call print

    ; INT 13h AH=42h (EDD extended read): block 1 of the boot drive to 0000:8000. On a hard disk that
    ; is the second 512-byte sector, on a CD-ROM the second 2048-byte one: both hold the marker text.
    mov di, 3                   ; tries
.retry:
    mov si, packet
    mov ah, 0x42
    mov dl, [drive]
    int 0x13
    jnc .read
    xor ah, ah                  ; reset the drive and try again
    mov dl, [drive]
    int 0x13
    dec di
    jnz .retry
    mov si, read_failed
    jmp fail

.read:
    mov si, BUFFER
    mov di, marker
    mov cx, marker_len
    repe cmpsb
    jne .mismatch
    mov si, BUFFER
    call print                  ; the second sector's text ends with CR LF and a NUL
    mov si, passed
    call print
    mov al, 0x10
    out DEBUG_EXIT, al
    jmp halt
.mismatch:
    mov si, mismatch
fail:
    call print
    mov al, 0x11
    out DEBUG_EXIT, al
halt:
    cli
    hlt
    jmp halt

; Prints the NUL-terminated string at DS:SI on the screen (INT 10h teletype) and on COM1.
print:
    lodsb
    test al, al
    jz .done
    push si
    mov ah, 0x0e
    mov bx, 0x0007
    int 0x10
    mov dx, COM1 + 5            ; line status: wait for the transmit holding register to empty
.wait:
    push ax
    in al, dx
    test al, 0x20
    pop ax
    jz .wait
    mov dx, COM1
    out dx, al
    pop si
    jmp print
.done:
    ret

hello:       db 'tsvm boot sector: loaded by the BIOS', 13, 10, 0
passed:      db 'tsvm boot sector: INT 13h read checked, exiting', 13, 10, 0
read_failed: db 'tsvm boot sector: INT 13h read failed', 13, 10, 0
mismatch:    db 'tsvm boot sector: block 1 does not hold the expected text', 13, 10, 0
marker:      db 'TSVM SECTOR 2'
marker_len   equ $ - marker
drive:       db 0
; The disk address packet: size, reserved, block count, buffer offset:segment, 64-bit block number.
packet:      db 16, 0
             dw 1, BUFFER, 0
             dq 1

    times 510 - ($ - $$) db 0
    dw 0xaa55

; The second sector, which the boot sector reads back.
sector2:
    db 'TSVM SECTOR 2: read through INT 13h', 13, 10, 0
    times 1024 - ($ - $$) db 0
