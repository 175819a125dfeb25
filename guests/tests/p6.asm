; The P6 model (Intel SDM vol. 2, CPUID, RDMSR, WRMSR, RDTSC, RDPMC, SYSENTER, SYSEXIT, UD2, WBINVD;
; vol. 3A, 2.5 (CR4) and 5.8.7 (SYSENTER/SYSEXIT); vol. 4, the architectural MSRs): the CPUID feature
; bits, SYSENTER MSR round trips, a SYSENTER from ring 3 to a ring-0 entry point and SYSEXIT back,
; RDTSC counting up, MTRRcap and the PAT's power-on value, the CR4 bits a P6 supports, and the
; faults: UD2, and RDMSR, WRMSR, RDPMC, WBINVD, RDTSC with CR4.TSD and SYSEXIT at CPL 3.
;
; Printed only where QEMU's pentium2 and a P6 agree: of the CPUID.1:EDX bits, those both report (FPU,
; DE, PSE, TSC, MSR, PAE, CX8, SEP, MTRR, PGE, CMOV, PAT, PSE-36, FXSR; not VME, which QEMU's TCG
; leaves out though it takes CR4.VME, nor MCE, MCA, APIC, MMX, which tsvm does not offer);
; not the TSC's value; no invalid PAT or MTRR types (QEMU stores them without #GP); of CR4, only bits
; both take (QEMU also takes MCE and OSXMMEXCPT, drops OSFXSR without SSE, and hangs on a MOV
; to CR4 with a reserved bit such as UMIP, OSXSAVE or SMEP, where a P6 raises #GP(0)).

%include "lib/boot.inc"

RESULTS         equ 0x700           ; what ring 3 and the SYSENTER entry point saw
SYSENTER_STACK  equ 0x9800          ; ESP after SYSENTER
SYSEXIT_STACK   equ 0x7F00          ; ESP after SYSEXIT (ECX)

MSR_SYSENTER_CS  equ 0x174
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176
MSR_MTRRCAP      equ 0xFE
MSR_PAT          equ 0x277

; CPUID.1:EDX: FPU 0, DE 2, PSE 3, TSC 4, MSR 5, PAE 6, CX8 8, SEP 11, MTRR 12, PGE 13, CMOV 15,
; PAT 16, PSE-36 17, FXSR 24.
FEATURES        equ 0x0103B97D
CR4_TSD         equ 1 << 2
CR4_BOTH        equ 0x1BF           ; VME, PVI, TSD, DE, PSE, PAE, PGE, PCE (QEMU drops OSFXSR without SSE)

%macro WRMSR_ 3                     ; index, EDX, EAX
        mov     ecx, %1
        mov     edx, %2
        mov     eax, %3
        wrmsr
%endmacro
%macro RESULT 2                     ; RESULT index, " name="
        FIELD   %2, [RESULTS + (%1) * 4], 32
%endmacro
%macro RESULT16 2
        FIELD   %2, [RESULTS + (%1) * 4], 16
%endmacro

test_main:
; --- CPUID ---------------------------------------------------------------------------------------
        mov     eax, 1
        cpuid
        and     edx, FEATURES
        FIELD   "cpuid-1-edx-common=", edx, 32
        NL
        mov     eax, 0x80000000     ; no extended leaves on a Pentium II: answered as the highest basic leaf
        cpuid
        and     eax, 0xFFFF0000
        cmp     eax, 0x80000000
        je      .extended
        PRINT   "cpuid-extended-leaves none", 10
        jmp     .msrs
.extended:
        PRINT   "cpuid-extended-leaves present", 10

; --- MSRs ----------------------------------------------------------------------------------------
.msrs:
        TRY     "sysenter-msrs"
        WRMSR_  MSR_SYSENTER_CS, 0xFFFFFFFF, SEL_CODE0  ; bits 63:32 are not kept
        WRMSR_  MSR_SYSENTER_ESP, 0, SYSENTER_STACK
        WRMSR_  MSR_SYSENTER_EIP, 0, sysenter_entry
        mov     ecx, MSR_SYSENTER_CS
        rdmsr
        mov     [RESULTS], eax
        mov     [RESULTS + 4], edx
        mov     ecx, MSR_SYSENTER_ESP
        rdmsr
        mov     [RESULTS + 8], eax
        mov     ecx, MSR_SYSENTER_EIP
        rdmsr
        mov     [RESULTS + 12], eax
        ENDTRY
        RESULT  0, "sysenter-cs="
        RESULT  1, ":"
        RESULT  2, " esp="
        RESULT  3, " eip="
        NL

        TRY     "mtrrcap-pat"
        mov     ecx, MSR_MTRRCAP
        rdmsr
        mov     [RESULTS], eax
        mov     [RESULTS + 4], edx
        mov     ecx, MSR_PAT
        rdmsr
        mov     [RESULTS + 8], eax
        mov     [RESULTS + 12], edx
        ENDTRY
        RESULT  1, "mtrrcap="
        RESULT  0, ":"
        RESULT  3, " pat="
        RESULT  2, ":"
        NL

; --- SYSENTER and SYSEXIT ------------------------------------------------------------------------
        TRY     "sysenter-sysexit"
        ENTER_RING3 .user
.user:
        mov     ecx, SYSEXIT_STACK
        mov     edx, .back
        sysenter
.back:
        mov     eax, cs
        mov     [RESULTS + 0x20], eax
        mov     eax, ss
        mov     [RESULTS + 0x24], eax
        mov     [RESULTS + 0x28], esp
        RING0
        ENDTRY
        RESULT16 4, "sysenter cs="
        RESULT16 5, " ss="
        RESULT  6, " esp="
        RESULT  7, " eflags="
        NL
        RESULT16 8, "sysexit cs="
        RESULT16 9, " ss="
        RESULT  10, " esp="
        NL

        TRY     "sysexit-cpl3"
        ENTER_RING3 .sysexit3
.sysexit3:
        sysexit
        RING0
        ENDTRY

        TRY     "sysenter-cs-0"
        WRMSR_  MSR_SYSENTER_CS, 0, 0
        sysenter
        ENDTRY

; --- RDTSC ---------------------------------------------------------------------------------------
        rdtsc
        mov     esi, eax
        mov     edi, edx
        mov     ecx, 100
.spin:
        loop    .spin
        rdtsc
        sub     eax, esi
        sbb     edx, edi
        jl      .not_up             ; negative
        or      eax, edx
        jz      .not_up             ; unchanged
        PRINT   "rdtsc increases", 10
        jmp     .faults
.not_up:
        PRINT   "rdtsc does not increase", 10

; --- faults --------------------------------------------------------------------------------------
.faults:
        TRY     "ud2"
        ud2
        ENDTRY

        TRY     "rdmsr-cpl3"
        ENTER_RING3 .rdmsr3
.rdmsr3:
        mov     ecx, MSR_SYSENTER_CS
        rdmsr
        RING0
        ENDTRY

        TRY     "wrmsr-cpl3"
        ENTER_RING3 .wrmsr3
.wrmsr3:
        mov     ecx, MSR_SYSENTER_CS
        xor     eax, eax
        xor     edx, edx
        wrmsr
        RING0
        ENDTRY

        TRY     "rdpmc-cpl3"
        ENTER_RING3 .rdpmc3
.rdpmc3:
        xor     ecx, ecx
        rdpmc
        RING0
        ENDTRY

        TRY     "wbinvd-cpl3"
        ENTER_RING3 .wbinvd3
.wbinvd3:
        wbinvd
        RING0
        ENDTRY

        TRY     "rdtsc-cpl3"
        ENTER_RING3 .rdtsc3
.rdtsc3:
        rdtsc
        RING0
        ENDTRY

        mov     eax, CR4_TSD
        mov     cr4, eax
        TRY     "rdtsc-cpl3-tsd"
        ENTER_RING3 .rdtsc3tsd
.rdtsc3tsd:
        rdtsc
        RING0
        ENDTRY

        TRY     "rdtsc-cpl0-tsd"
        rdtsc
        ENDTRY

; --- CR4 -----------------------------------------------------------------------------------------
        TRY     "cr4-supported"
        mov     eax, CR4_BOTH
        mov     cr4, eax
        mov     eax, cr4
        mov     [RESULTS], eax
        ENDTRY
        RESULT  0, "cr4="
        NL
        xor     eax, eax
        mov     cr4, eax

        DONE

; The SYSENTER entry point (CPL 0): what it sees, then SYSEXIT to EDX with ESP = ECX.
sysenter_entry:
        mov     eax, cs
        mov     [RESULTS + 0x10], eax
        mov     eax, ss
        mov     [RESULTS + 0x14], eax
        mov     [RESULTS + 0x18], esp
        pushfd
        pop     eax
        mov     [RESULTS + 0x1C], eax
        sysexit

%include "lib/end.inc"
