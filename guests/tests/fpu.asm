; The x87 FPU (Intel SDM vol. 1, chapter 8; vol. 2 for each instruction; vol. 3A 2.5 and 6.15 for
; CR0.EM/TS/MP/NE, #NM and #MF): FNINIT state, the constants under each rounding mode, 80-bit loads
; and stores of odd encodings, FXAM, arithmetic under each rounding mode and precision control,
; integer and BCD conversions, compares (FCOM, FUCOM, FCOMI, FCMOVcc), FPREM/FPREM1, FSCALE,
; FXTRACT, FRNDINT, masked exceptions, #MF at FWAIT, #NM, FSTENV/FSAVE/FRSTOR/FXSAVE/FXRSTOR.
;
; What is printed and why:
; - QEMU's x87 is softfloat with 64-bit significands. Arithmetic checks run with precision control
;   set to double (or single) and store their results as doubles, so an exact 80-bit unit and one
;   computing in doubles agree bit for bit (the rounding happens once, at 53 or 24 bits).
; - Transcendental results (FSIN, FCOS, FPTAN, FSINCOS, FPATAN, F2XM1, FYL2X, FYL2XP1) differ between
;   implementations in the last bits of the significand; they are printed rounded to single
;   precision (FSTP m32), which both agree on. Where the result is exact (FYL2X of a power of two,
;   F2XM1 of ±1) it is printed as a double.
; - Left out because QEMU does not model them while a P6 does: stack overflow and underflow (QEMU
;   does not check tags on pushes and pops, so no #IS and no C1), C1 as the "rounded up" bit, the
;   FPU instruction and data pointers and the last opcode in FSTENV/FSAVE/FXSAVE images (QEMU 7.2
;   does not keep them), the MXCSR and XMM parts of the FXSAVE image (not x87 state), and a pending
;   exception reported by waiting instructions other than FWAIT (QEMU checks only at FWAIT).
;   tsvm's unit tests cover those from the SDM (packages/cpu/src/ops/fpu-*.test.ts).

%include "lib/boot.inc"

RES             equ 0x10000         ; results are stored here, then printed
ENVBUF          equ 0x10100         ; FSTENV / FSAVE images
FXBUF           equ 0x10400         ; FXSAVE image (16-byte aligned)
CR0_MP          equ 0x02
CR0_EM          equ 0x04
CR0_TS          equ 0x08
CR0_NE          equ 0x20

; P80 addr: prints " " and the 80-bit value at addr as sign/exponent, then significand.
%macro P80 1
        PRINT   " "
        PUTHEX16 [%1 + 8]
        PRINT   ":"
        PUTHEX32 [%1 + 4]
        PUTHEX32 [%1]
%endmacro
; P64 addr / P32 addr: prints " " and a double / single (bits in hex).
%macro P64 1
        PRINT   " "
        PUTHEX32 [%1 + 4]
        PUTHEX32 [%1]
%endmacro
%macro P32 1
        PRINT   " "
        PUTHEX32 [%1]
%endmacro
; SW: prints " sw=" and the status word's exception flags and SF. The condition codes are printed
; where an instruction defines them (QEMU sets C2 on FSQRT of a negative number, where the SDM
; leaves them undefined).
%macro SW 0
        fnstsw  ax
        and     eax, 0x007F
        FIELD   " sw=", eax, 16
%endmacro
; CW value: loads the control word.
%macro CW 1
        mov     word [RES + 0xF0], %1
        fldcw   [RES + 0xF0]
%endmacro

CW_EXT          equ 0x037F          ; all masked, extended precision, round to nearest
CW_DBL          equ 0x027F          ; double precision
CW_SGL          equ 0x007F          ; single precision

test_main:
; --- FNINIT -------------------------------------------------------------------------------------
        PRINT   "init"
        fninit
        fnstcw  [RES]
        FIELD   " cw=", [RES], 16
        fnstsw  [RES]
        FIELD   " sw=", [RES], 16
        fnstenv [ENVBUF]
        FIELD   " tw=", [ENVBUF + 8], 16
        NL

; --- constants under each rounding mode ---------------------------------------------------------
%macro CONSTS 2
        PRINT   %1
        CW      CW_EXT | (%2 << 10)
        fldpi
        fstp    tword [RES]
        P80     RES
        fldl2e
        fstp    tword [RES]
        P80     RES
        fldl2t
        fstp    tword [RES]
        P80     RES
        fldlg2
        fstp    tword [RES]
        P80     RES
        fldln2
        fstp    tword [RES]
        P80     RES
        NL
%endmacro
        CONSTS  "const-rn", 0
        CONSTS  "const-rd", 1
        CONSTS  "const-ru", 2
        CONSTS  "const-rz", 3
        CW      CW_EXT
        PRINT   "const-1-z"
        fld1
        fldz
        fstp    tword [RES]
        P80     RES
        fstp    tword [RES]
        P80     RES
        NL

; --- 80-bit round trips and FXAM -----------------------------------------------------------------
%macro ROUNDTRIP 2
        PRINT   %1
        fninit
        fld     tword [%2]
        fxam
        fnstsw  ax
        and     eax, 0x4700
        FIELD   " fxam=", eax, 16
        fstp    tword [RES]
        P80     RES
        SW
        NL
%endmacro
        ROUNDTRIP "x80-denormal", v_denormal
        ROUNDTRIP "x80-pseudo-denormal", v_pseudo_denormal
        ROUNDTRIP "x80-unnormal", v_unnormal
        ROUNDTRIP "x80-snan", v_snan
        ROUNDTRIP "x80-qnan-payload", v_qnan
        ROUNDTRIP "x80-neg-inf", v_neginf
        ROUNDTRIP "x80-max", v_max
        ROUNDTRIP "x80-neg-zero", v_negzero
        ROUNDTRIP "x80-pi", v_pi80

        PRINT   "fld-m64-snan"      ; an SNaN from memory: IE, loaded quiet
        fninit
        fld     qword [d_snan]
        fstp    tword [RES]
        P80     RES
        SW
        NL
        PRINT   "fld-m32-denormal"  ; loaded exactly (normal in 80 bits); the P6 sets DE, QEMU does not
        fninit
        fld     dword [f_denormal]
        fstp    tword [RES]
        P80     RES
        NL

; --- arithmetic under each rounding mode (double precision) -------------------------------------
%macro ARITH_RC 2
        PRINT   %1
        fninit
        CW      CW_DBL | (%2 << 10)
        fld1
        fdiv    qword [d_three]        ; 1/3
        fstp    qword [RES]
        P64     RES
        fld     qword [d_minus_one]
        fdiv    qword [d_three]        ; -1/3
        fstp    qword [RES]
        P64     RES
        fld     qword [d_two]
        fsqrt
        fstp    qword [RES]
        P64     RES
        fld     qword [d_tenth]
        fadd    qword [d_fifth]        ; 0.1 + 0.2
        fstp    qword [RES]
        P64     RES
        fld     qword [d_tenth]
        fmul    qword [d_three]
        fstp    qword [RES]
        P64     RES
        fld     qword [d_one_eps]
        fsub    qword [d_tiny]
        fstp    qword [RES]
        P64     RES
        SW
        NL
%endmacro
        ARITH_RC "arith-rn", 0
        ARITH_RC "arith-rd", 1
        ARITH_RC "arith-ru", 2
        ARITH_RC "arith-rz", 3

        PRINT   "exact-ops"
        fninit
        fld     qword [d_one_half]
        fadd    qword [d_two_quarter]      ; 1.5 + 2.25
        fstp    qword [RES]
        P64     RES
        fild    dword [i_seven]
        fimul   word [w_three]             ; 21
        fisub   dword [i_seven]            ; 14
        fidivr  word [w_seven]             ; 7 / 14 = 0.5
        fstp    qword [RES]
        P64     RES
        fld     qword [d_two_quarter]
        fsqrt
        fstp    qword [RES]
        P64     RES
        fld     qword [d_three]
        fchs
        fabs
        fld     qword [d_two]
        fsubrp  st1, st0
        fstp    qword [RES]
        P64     RES
        SW
        NL

        PRINT   "precision-single"
        fninit
        CW      CW_SGL
        fld1
        fdiv    qword [d_three]
        fstp    qword [RES]
        P64     RES
        CW      CW_SGL | (2 << 10)
        fld1
        fdiv    qword [d_three]
        fstp    qword [RES]
        P64     RES
        SW
        NL

        PRINT   "store-rounding"   ; FST m32 of 1/3 (double precision) under each RC
        fninit
        CW      CW_DBL
        fld1
        fdiv    qword [d_three]
%assign rc 0
%rep 4
        CW      CW_DBL | (rc << 10)
        fst     dword [RES]
        P32     RES
%assign rc rc + 1
%endrep
        fstp    st0
        NL

        PRINT   "store-overflow"   ; 1e300 to single: OE, PE; by RC: infinity or the largest single
        fninit
%assign rc 0
%rep 4
        CW      CW_EXT | (rc << 10)
        fld     qword [d_big]
        fstp    dword [RES]
        P32     RES
%assign rc rc + 1
%endrep
        SW
        NL

; --- integers: FIST and FRNDINT under each rounding mode ----------------------------------------
%macro ROUNDINT 2
        PRINT   %1
        fninit
        CW      CW_EXT | (%2 << 10)
        mov     esi, d_round_inputs
        mov     ecx, 6
%%next:
        fld     qword [esi]
        fist    dword [RES]
        P32     RES
        frndint
        fistp   word [RES]
        PRINT   "/"
        PUTHEX16 [RES]
        add     esi, 8
        loop    %%next
        SW
        NL
%endmacro
        ROUNDINT "int-rn", 0
        ROUNDINT "int-rd", 1
        ROUNDINT "int-ru", 2
        ROUNDINT "int-rz", 3

        PRINT   "int64-roundtrip"
        fninit
        fild    qword [q_big]
        fistp   qword [RES]
        P64     RES
        fild    qword [q_min]
        fld     st0
        fistp   qword [RES]
        P64     RES
        fstp    tword [RES]
        P80     RES
        fild    qword [q_big]
        fstp    tword [RES]
        P80     RES
        NL

        PRINT   "int-overflow"     ; IE; the integer indefinite
        fninit
        fld     qword [d_big]
        fist    word [RES]
        PRINT   " "
        PUTHEX16 [RES]
        fist    dword [RES]
        P32     RES
        fistp   qword [RES]
        P64     RES
        SW
        NL

        PRINT   "bcd"
        fninit
        fbld    [bcd_in]
        fld     st0
        fbstp   [RES]
        P80     RES
        fchs
        fstp    qword [RES]
        P64     RES
        fld     qword [d_bcd_half]    ; -1234.5 rounds to -1234 (even)
        fbstp   [RES]
        P80     RES
        fld     qword [d_big]         ; out of range: IE, the BCD indefinite
        fbstp   [RES]
        P80     RES
        SW
        NL

; --- compares --------------------------------------------------------------------------------------
%macro CMP_CC 1
        fnstsw  ax
        and     eax, 0x4500
        PRINT   %1
        PUTHEX16 eax
%endmacro
        PRINT   "fcom"
        fninit
        fld     qword [d_two]
        fcom    qword [d_three]
        CMP_CC  " lt="
        fcom    qword [d_two]
        CMP_CC  " eq="
        fcom    qword [d_one_half]
        CMP_CC  " gt="
        ficom   word [w_three]
        CMP_CC  " lt-int="
        ftst
        CMP_CC  " tst="
        fld     qword [d_qnan]
        fucom   st1
        CMP_CC  " fucom-nan="
        SW
        fnclex
        fcom    st1
        CMP_CC  " fcom-nan="
        SW
        fcompp
        fnstsw  ax
        shr     eax, 11
        and     eax, 7
        FIELD   " top=", eax, 8
        NL

%macro FLAGS 1
        pushfd
        pop     eax
        and     eax, 0x8D5
        PRINT   %1
        PUTHEX16 eax
%endmacro
        PRINT   "fcomi"
        fninit
        fld     qword [d_three]
        fld     qword [d_two]
        fcomi   st0, st1
        FLAGS   " lt="
        fxch    st1
        fcomi   st0, st1
        FLAGS   " gt="
        fld     st0
        fucomip st0, st1
        FLAGS   " eq="
        fld     qword [d_qnan]
        fucomi  st0, st1
        FLAGS   " un="
        SW
        fcomip  st0, st1
        FLAGS   " un-ordered="
        SW
        NL

        PRINT   "fcmov"
        fninit
        fld     qword [d_three]
        fld     qword [d_two]
        mov     eax, 1
        cmp     eax, 2              ; CF=1 ZF=0
        fcmovnb st0, st1
        fst     qword [RES]
        P64     RES
        fcmovb  st0, st1
        fst     qword [RES]
        P64     RES
        fcmove  st0, st1
        fcmovnbe st0, st1
        fcmovu  st0, st1
        fcmovnu st0, st1
        fcmovne st0, st1
        fcmovbe st0, st1
        fstp    qword [RES]
        P64     RES
        NL

; --- remainders, scaling, FXTRACT ----------------------------------------------------------------
%macro REM 3
        PRINT   %1
        fninit
        fld     qword [%3]
        fld     qword [%2]
        fprem
        CMP_Q
        fstp    qword [RES]
        P64     RES
        fninit
        fld     qword [%3]
        fld     qword [%2]
        fprem1                      ; the quotient bits are not printed: QEMU 7.2 leaves them 0
        fstp    qword [RES]
        P64     RES
        NL
%endmacro
%macro CMP_Q 0
        fnstsw  ax
        and     eax, 0x4700
        PRINT   " q="
        PUTHEX16 eax
%endmacro
        REM     "prem-10-3", d_ten, d_three
        REM     "prem-11-3", d_eleven, d_three
        REM     "prem-neg", d_minus_eleven, d_three
        REM     "prem-frac", d_pi_dbl, d_one_half

        PRINT   "fscale"
        fninit
        fld     qword [d_four]
        fld     qword [d_one_half]
        fscale
        fstp    qword [RES]
        P64     RES
        fld     qword [d_minus_three]
        fld     tword [v_pi80]
        fscale
        fstp    tword [RES]
        P80     RES
        fld     qword [d_big_exp]
        fld1
        fscale                      ; 2^20000: overflow, masked: infinity
        fstp    tword [RES]
        P80     RES
        SW
        NL

        PRINT   "fxtract"
        fninit
        fld     qword [d_twentyfour]
        fxtract
        fstp    qword [RES]
        P64     RES
        fstp    qword [RES]
        P64     RES
        fld     tword [v_pi80]
        fchs
        fxtract
        fstp    tword [RES]
        P80     RES
        fstp    qword [RES]
        P64     RES
        fldz
        fxtract                     ; ZE: significand 0, exponent -infinity
        fstp    qword [RES]
        P64     RES
        fstp    qword [RES]
        P64     RES
        SW
        NL

; --- transcendental (printed as singles, see the top) ---------------------------------------------
        PRINT   "trig"
        fninit
        fld     qword [d_one_half]
        fsin
        fstp    dword [RES]
        P32     RES
        fld     qword [d_one_half]
        fcos
        fstp    dword [RES]
        P32     RES
        fld     qword [d_one_half]
        fptan
        fstp    dword [RES]
        P32     RES
        fstp    dword [RES]
        P32     RES
        fld1
        fsincos
        fstp    dword [RES]
        P32     RES
        fstp    dword [RES]
        P32     RES
        fld     qword [d_two64]
        fsin                        ; out of range (2^64; QEMU takes 2^63 itself as in range): C2 set, ST0 unchanged
        fnstsw  ax
        and     eax, 0x0400
        FIELD   " c2=", eax, 16
        fstp    qword [RES]
        P64     RES
        NL

        PRINT   "log-exp"
        fninit
        fld     qword [d_two]
        fld1
        fpatan                      ; atan(2/1)
        fstp    dword [RES]
        P32     RES
        fld     qword [d_minus_one]
        fld     qword [d_minus_one]
        fpatan                      ; atan2(-1, -1) = -3pi/4
        fstp    dword [RES]
        P32     RES
        fld     qword [d_quarter]
        f2xm1
        fstp    dword [RES]
        P32     RES
        fld     qword [d_minus_one]
        f2xm1
        fstp    qword [RES]
        P64     RES
        fld     qword [d_three]
        fld     qword [d_eight]
        fyl2x                       ; 3 * log2(8) = 9
        fstp    qword [RES]
        P64     RES
        fld1
        fld     qword [d_ten]
        fyl2x
        fstp    dword [RES]
        P32     RES
        fld1
        fld     qword [d_quarter]
        fyl2xp1
        fstp    dword [RES]
        P32     RES
        fld1
        fldz
        fyl2x                       ; log2(0): ZE, -infinity
        fstp    qword [RES]
        P64     RES
        SW
        NL

; --- masked exceptions ----------------------------------------------------------------------------
        PRINT   "div-zero"
        fninit
        fld1
        fdiv    qword [d_zero]
        fstp    qword [RES]
        P64     RES
        SW
        NL
        PRINT   "invalid"
        fninit
        fldz
        fdiv    qword [d_zero]
        fstp    tword [RES]
        P80     RES
        fld     qword [d_minus_one]
        fsqrt
        fstp    tword [RES]
        P80     RES
        SW
        NL
        PRINT   "nan-propagation"
        fninit
        fld     qword [d_qnan]
        fadd    qword [d_qnan2]     ; two QNaNs: the larger significand (an SNaN with a QNaN is left out:
                                    ; QEMU 7.2 quiets the m64 SNaN first and then picks by significand)
        fstp    qword [RES]
        P64     RES
        fld1
        fadd    qword [d_snan]      ; the SNaN, quieted
        fstp    qword [RES]
        P64     RES
        SW
        NL

; --- unmasked exceptions: #MF at FWAIT with CR0.NE ---------------------------------------------
        mov     eax, cr0
        or      eax, CR0_NE
        mov     cr0, eax
        TRY     "mf-fwait"
        fninit
        CW      0x037B              ; ZE unmasked
        fld1
        fdiv    qword [d_zero]      ; pending
        fnstsw  ax
        FIELD   " sw=", eax, 16
        fwait                       ; #MF here
        ENDTRY
        PRINT   "mf-after"
        fnstsw  ax
        FIELD   " sw=", eax, 16
        fnclex
        fnstsw  ax
        FIELD   " sw=", eax, 16
        fwait                       ; (not printed: ST0, which a P6 leaves 1.0 on an unmasked ZE and QEMU sets to infinity)
        NL

; --- #NM -----------------------------------------------------------------------------------------
        TRY     "nm-ts"
        fninit
        mov     eax, cr0
        or      eax, CR0_TS
        mov     cr0, eax
        fld1
        ENDTRY
        TRY     "nm-ts-fwait"       ; MP clear: WAIT does not fault
        fwait
        ENDTRY
        TRY     "nm-ts-mp-fwait"
        mov     eax, cr0
        or      eax, CR0_MP
        mov     cr0, eax
        fwait
        ENDTRY
        clts
        TRY     "nm-em"
        mov     eax, cr0
        or      eax, CR0_EM
        mov     cr0, eax
        fnstsw  ax
        ENDTRY
        TRY     "nm-em-fwait"       ; EM does not affect WAIT
        fwait
        ENDTRY
        mov     eax, cr0
        and     eax, ~(CR0_EM | CR0_MP)
        mov     cr0, eax

; --- FSTENV / FSAVE / FRSTOR / FXSAVE / FXRSTOR --------------------------------------------------
        PRINT   "fstenv"
        fninit
        CW      0x0A72              ; RC up, PC double, some masks clear
        fld1
        fldpi
        fld     qword [d_zero]
        fld     tword [v_snan]
        ffree   st1
        fnstenv [ENVBUF]
        FIELD   " cw=", [ENVBUF], 16
        FIELD   " sw=", [ENVBUF + 4], 16
        FIELD   " tw=", [ENVBUF + 8], 16
        o16 fnstenv [ENVBUF]        ; (FNSTENV then masks every exception on a P6; QEMU does not)
        FIELD   " tw16=", [ENVBUF + 4], 16
        NL

        PRINT   "fsave-frstor"
        CW      0x0A72
        fnsave  [ENVBUF]
        FIELD   " tw=", [ENVBUF + 8], 16
        fnstcw  [RES]
        FIELD   " cw-after=", [RES], 16
        fnstsw  [RES]
        FIELD   " sw-after=", [RES], 16
        P80     ENVBUF + 28
        P80     ENVBUF + 28 + 10
        P80     ENVBUF + 28 + 30
        fld1                        ; clobber
        frstor  [ENVBUF]
        fnstcw  [RES]
        FIELD   " cw=", [RES], 16
        fnstsw  ax
        FIELD   " sw=", eax, 16
        fstp    tword [RES]
        P80     RES
        fincstp                     ; past the empty ST(1) (popping it would be a stack fault)
        fstp    tword [RES]
        P80     RES
        NL

        PRINT   "fxsave"
        fninit
        fld     tword [v_pi80]
        fld     tword [v_denormal]
        fldz
        fxsave  [FXBUF]
        FIELD   " cw=", [FXBUF], 16
        FIELD   " sw=", [FXBUF + 2], 16
        FIELD   " ftw=", [FXBUF + 4], 8
        P80     FXBUF + 32
        P80     FXBUF + 48
        P80     FXBUF + 64
        fninit
        fxrstor [FXBUF]
        fnstenv [ENVBUF]
        FIELD   " tw=", [ENVBUF + 8], 16
        fstp    st0
        fstp    st0
        fstp    tword [RES]
        P80     RES
        NL
        TRY     "fxsave-misaligned"
        fxsave  [FXBUF + 8]
        ENDTRY

        DONE

; --- data ------------------------------------------------------------------------------------------
        align   8
v_denormal:        dw 0x0001, 0x0000, 0x0000, 0x0000, 0x0000
v_pseudo_denormal: dw 0x0000, 0x0000, 0x0000, 0x8000, 0x0000
v_unnormal:        dw 0x0000, 0x0000, 0x0000, 0x4000, 0x3FFF
v_snan:            dw 0x5678, 0x1234, 0x0000, 0xA000, 0x7FFF
v_qnan:            dw 0xBEEF, 0xDEAD, 0x0000, 0xC123, 0xFFFF
v_neginf:          dw 0x0000, 0x0000, 0x0000, 0x8000, 0xFFFF
v_max:             dw 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0x7FFE
v_negzero:         dw 0x0000, 0x0000, 0x0000, 0x0000, 0x8000
v_pi80:            dw 0xC235, 0x2168, 0xDAA2, 0xC90F, 0x4000
        align   8
d_zero:         dq 0.0
d_one_half:     dq 1.5
d_two:          dq 2.0
d_two_quarter:  dq 2.25
d_three:        dq 3.0
d_minus_three:  dq -3.0
d_four:         dq 4.0
d_eight:        dq 8.0
d_ten:          dq 10.0
d_eleven:       dq 11.0
d_minus_eleven: dq -11.0
d_twentyfour:   dq 24.0
d_quarter:      dq 0.25
d_minus_one:    dq -1.0
d_tenth:        dq 0.1
d_fifth:        dq 0.2
d_one_eps:      dq 1.0
d_tiny:         dq 1.0e-30
d_big:          dq 1.0e300
d_big_exp:      dq 20000.0
d_two64:        dq 18446744073709551616.0
d_pi_dbl:       dq 3.141592653589793
d_bcd_half:     dq -1234.5
d_qnan:         dq 0x7FF8000000000123
d_snan:         dq 0x7FF0000000000456
d_qnan2:        dq 0x7FF8000000000456
d_round_inputs: dq 2.5, -2.5, 3.5, -0.5, 1.75, -1.25
q_big:          dq 0x7FFFFFFFFFFFFFFF
q_min:          dq 0x8000000000000000
i_seven:        dd 7
w_three:        dw 3
w_seven:        dw 7
f_denormal:     dd 0x00000003
bcd_in:         db 0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80

%include "lib/end.inc"
