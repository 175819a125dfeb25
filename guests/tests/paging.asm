; Paging (Intel SDM vol. 3A, 4.3-4.4, 4.7, 4.10): two-level paging with 4 KiB pages, 4 MiB pages
; (PSE), PAE with 4 KiB and 2 MiB pages; the #PF error code (P, W, U, RSVD) with CR2 for reads and
; writes at CPL 0 and 3, CR0.WP, a store across a page boundary, fetches from a missing page, the
; accessed and dirty bits, INVLPG and CR4.PGE flushes, and self-modifying code through an alias.
;
; Reserved-bit faults print their error code without P: a P6 sets P with RSVD (the entry was
; present), QEMU 7.2 leaves it clear; W, U and RSVD agree (pf_without_p below).
;
; Left out where QEMU and a P6 may differ: what a stale TLB entry returns before INVLPG (undefined),
; global pages surviving a CR3 load (QEMU flushes them), and PAE PDPTEs with reserved bits (a P6
; raises #GP(0) at the MOV CR3 that loads them; QEMU walks the PDPT on each miss instead).

%include "lib/boot.inc"

PD              equ 0x100000        ; 32-bit page directory
PT0             equ 0x101000        ; page table for 0-4 MiB (identity, user, writable)
PDPT            equ 0x102000        ; PAE
PAE_PD          equ 0x103000
PAE_PT          equ 0x104000        ; PAE page table for 0-2 MiB
PT1             equ 0x105000        ; page table for 4-8 MiB (one user page under a supervisor PDE)
ALIAS_PHYS      equ 0x300000        ; the physical page behind two linear aliases

P               equ 1
W               equ 2
U               equ 4
A               equ 0x20
D               equ 0x40
PS              equ 0x80
G               equ 0x100

NOT_PRESENT     equ 0x200000        ; linear pages with particular PTEs (all in the first 4 MiB)
READ_ONLY       equ 0x201000        ; supervisor, read-only
SUPERVISOR      equ 0x202000        ; supervisor, writable
USER_RO         equ 0x203000        ; user, read-only
USER_RW         equ 0x204000        ; user, writable
REMAP           equ 0x205000        ; remapped under INVLPG
CODE_ALIAS      equ 0x206000        ; -> ALIAS_PHYS
DATA_ALIAS      equ 0x207000        ; -> ALIAS_PHYS
GLOBAL_PAGE     equ 0x208000

CR0_PG          equ 0x80000000
CR0_WP          equ 0x10000
CR4_PSE         equ 0x10
CR4_PAE         equ 0x20
CR4_PGE         equ 0x80

%define PTE(lin) PT0 + ((lin) >> 12) * 4

test_main:
        ; PD and PT0: 0-4 MiB identity, present, writable, user
        mov     edi, PD
        xor     eax, eax
        mov     ecx, 1024 * 6
        rep     stosd
        mov     dword [PD], PT0 | P | W | U
        mov     edi, PT0
        mov     eax, P | W | U
        mov     ecx, 1024
.pt0:
        stosd
        add     eax, 0x1000
        loop    .pt0
        mov     dword [PTE(NOT_PRESENT)], NOT_PRESENT
        mov     dword [PTE(READ_ONLY)], READ_ONLY | P
        mov     dword [PTE(SUPERVISOR)], SUPERVISOR | P | W
        mov     dword [PTE(USER_RO)], USER_RO | P | U
        mov     dword [PTE(CODE_ALIAS)], ALIAS_PHYS | P | W
        mov     dword [PTE(DATA_ALIAS)], ALIAS_PHYS | P | W
        mov     dword [READ_ONLY], 0x5A5A5A5A
        mov     eax, PD
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax

; --- 4 KiB pages at CPL 0 -------------------------------------------------------------------------
        TRY     "identity-read"
        mov     eax, [READ_ONLY]
        FIELD   " value=", eax, 32
        ENDTRY

        TRY     "pf-read-not-present"
        mov     eax, [NOT_PRESENT + 0x123]
        ENDTRY

        TRY     "pf-write-not-present"
        mov     byte [NOT_PRESENT + 0xFFF], 1
        ENDTRY

        TRY     "pf-pde-not-present"
        mov     eax, [0x00C01004]
        ENDTRY

        TRY     "write-read-only-wp0"         ; CR0.WP clear: the supervisor may write
        mov     dword [READ_ONLY], 0x11112222
        mov     eax, [READ_ONLY]
        FIELD   " value=", eax, 32
        ENDTRY

        TRY     "pf-write-read-only-wp1"
        mov     eax, cr0
        or      eax, CR0_WP
        mov     cr0, eax
        mov     dword [READ_ONLY + 8], 0x33334444
        ENDTRY
        mov     eax, cr0
        and     eax, ~CR0_WP
        mov     cr0, eax

        TRY     "pf-store-across-page"        ; the second page faults: no byte is written
        mov     dword [NOT_PRESENT - 4], 0
        mov     dword [NOT_PRESENT - 2], 0xAABBCCDD
        ENDTRY
        FIELD   "pf-store-across-page before=", [NOT_PRESENT - 4], 32
        NL

        TRY     "pf-fetch"
        call    NOT_PRESENT + 0x10
        ENDTRY

        TRY     "accessed-dirty"
        mov     dword [PTE(USER_RW)], USER_RW | P | W | U
        invlpg  [USER_RW]
        mov     eax, [USER_RW]
        mov     eax, [PTE(USER_RW)]
        and     eax, 0xFFF
        FIELD   " after-read=", eax, 16
        mov     [USER_RW], eax
        mov     eax, [PTE(USER_RW)]
        and     eax, 0xFFF
        FIELD   " after-write=", eax, 16
        mov     eax, [PD]
        and     eax, 0xFFF
        FIELD   " pde=", eax, 16
        ENDTRY

        TRY     "df-pf-then-gp"               ; #PF's gate names a data segment: #GP delivering #PF is #DF
        NO_EIP
        mov     word [IDT_BASE + 14 * 8 + 2], SEL_DATA0
        mov     eax, [NOT_PRESENT]
        ENDTRY
        RESTORE_GATE 14

; --- CPL 3 ----------------------------------------------------------------------------------------
%macro RING3 2+                     ; name, instruction
        TRY     %1
        ENTER_RING3 %%r3
%%r3:
        %2
        RING0
        ENDTRY
%endmacro
        RING3   "r3-read-supervisor", mov eax, [SUPERVISOR]
        RING3   "r3-write-supervisor", mov dword [SUPERVISOR + 4], 1
        RING3   "r3-write-user-read-only", mov dword [USER_RO + 8], 1
        RING3   "r3-read-user-read-only", mov eax, [USER_RO + 8]
        RING3   "r3-write-user", mov dword [USER_RW + 12], 1
        RING3   "r3-read-not-present", mov eax, [NOT_PRESENT + 16]
        RING3   "r3-fetch-supervisor", call SUPERVISOR

        TRY     "r3-user-pte-supervisor-pde"  ; U must be set at both levels
        mov     dword [PT1], 0x400000 | P | W | U
        mov     dword [PD + 1 * 4], PT1 | P | W
        ENTER_RING3 .r3pde
.r3pde:
        mov     eax, [0x400000]
        RING0
        ENDTRY

; --- INVLPG, CR3 reloads, CR4.PGE -----------------------------------------------------------------
        TRY     "invlpg"
        mov     dword [0x310000], 0xAAAA0001
        mov     dword [0x311000], 0xBBBB0002
        mov     dword [PTE(REMAP)], 0x310000 | P | W
        invlpg  [REMAP]
        mov     eax, [REMAP]
        FIELD   " first=", eax, 32
        mov     dword [PTE(REMAP)], 0x311000 | P | W
        invlpg  [REMAP]
        mov     eax, [REMAP]
        FIELD   " second=", eax, 32
        ENDTRY

        TRY     "cr3-reload"
        mov     dword [PTE(REMAP)], 0x310000 | P | W
        mov     eax, cr3
        mov     cr3, eax
        mov     eax, [REMAP]
        FIELD   " value=", eax, 32
        ENDTRY

        TRY     "global-page-pge-toggle"      ; clearing CR4.PGE flushes global entries too
        mov     eax, cr4
        or      eax, CR4_PGE
        mov     cr4, eax
        mov     dword [PTE(GLOBAL_PAGE)], 0x310000 | P | W | G
        invlpg  [GLOBAL_PAGE]
        mov     eax, [GLOBAL_PAGE]
        FIELD   " first=", eax, 32
        mov     dword [PTE(GLOBAL_PAGE)], 0x311000 | P | W | G
        mov     eax, cr4
        and     eax, ~CR4_PGE
        mov     cr4, eax
        mov     eax, [GLOBAL_PAGE]
        FIELD   " second=", eax, 32
        ENDTRY

; --- self-modifying code through an alias ---------------------------------------------------------
        TRY     "smc-alias"
        mov     edi, CODE_ALIAS
        mov     dword [edi], 0x000001B8       ; mov eax, 1
        mov     dword [edi + 4], 0x9090C300   ; ret
        call    CODE_ALIAS
        FIELD   " first=", eax, 32
        mov     byte [DATA_ALIAS + 1], 2      ; the immediate, through the other mapping
        call    CODE_ALIAS
        FIELD   " second=", eax, 32
        ENDTRY

; --- 4 MiB pages (PSE) ----------------------------------------------------------------------------
        TRY     "pse-4m"
        mov     eax, cr4
        or      eax, CR4_PSE
        mov     cr4, eax
        mov     dword [PD + 1 * 4], 0x400000 | PS | P | W           ; 4-8 MiB identity
        mov     dword [PD + 3 * 4], 0x400000 | PS | P | W | U       ; 12-16 MiB -> 4-8 MiB
        mov     eax, cr3
        mov     cr3, eax
        mov     dword [0xC00010], 0x4D4D4D4D
        mov     eax, [0x400010]
        FIELD   " alias=", eax, 32
        mov     eax, [PD + 3 * 4]
        and     eax, 0xFFF
        FIELD   " pde=", eax, 16
        ENDTRY

        TRY     "pse-4m-reserved-bit21"
        IDT_GATE 14, pf_without_p
        or      dword [PD + 3 * 4], 1 << 21
        mov     eax, cr3
        mov     cr3, eax
        mov     eax, [0xC00020]
        ENDTRY

        RESTORE_GATE 14
        TRY     "pse-off-ignores-ps"          ; CR4.PSE clear: the PDE points to a page table
        and     dword [PD + 3 * 4], ~(1 << 21)
        mov     dword [PD + 2 * 4], PT0 | PS | P | W                ; 8-12 MiB through PT0
        mov     eax, cr4
        and     eax, ~CR4_PSE
        mov     cr4, eax
        mov     eax, [0x800000 + READ_ONLY]
        FIELD   " value=", eax, 32
        ENDTRY

        ; paging off
        mov     eax, cr0
        and     eax, ~CR0_PG
        mov     cr0, eax

; --- PAE ------------------------------------------------------------------------------------------
        mov     edi, PDPT
        xor     eax, eax
        mov     ecx, 1024 * 3
        rep     stosd
        mov     dword [PDPT], PAE_PD | P
        mov     dword [PAE_PD], PAE_PT | P | W | U
        mov     dword [PAE_PD + 1 * 8], 0x200000 | PS | P | W | U   ; 2-4 MiB: one 2 MiB page
        mov     dword [PAE_PD + 8 * 8], 0x200000 | PS | P | W       ; 16-18 MiB -> 2-4 MiB
        mov     edi, PAE_PT
        mov     eax, P | W | U
        mov     ecx, 512
.pae_pt:
        mov     [edi], eax
        add     edi, 8
        add     eax, 0x1000
        loop    .pae_pt
        mov     eax, cr4
        or      eax, CR4_PAE
        mov     cr4, eax
        mov     eax, PDPT
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax

        TRY     "pae-4k"
        mov     dword [0x1F0000], 0x12341234
        mov     eax, [0x1F0000]
        FIELD   " value=", eax, 32
        ENDTRY

        TRY     "pae-2m"
        mov     eax, [0x1000000 + READ_ONLY - 0x200000]     ; 16 MiB + 1 KiB.. -> READ_ONLY
        FIELD   " value=", eax, 32
        mov     eax, [PAE_PD + 8 * 8]
        and     eax, 0xFFF
        FIELD   " pde=", eax, 16
        ENDTRY

        TRY     "pae-not-present"
        mov     eax, [0x40000000]             ; PDPTE 1 not present
        ENDTRY

        TRY     "pae-reserved-bit"            ; PTE bit 40: above MAXPHYADDR (36)
        IDT_GATE 14, pf_without_p
        or      dword [PAE_PT + (0x1F0000 >> 12) * 8 + 4], 1 << 8
        invlpg  [0x1F0000]
        mov     eax, [0x1F0000]
        ENDTRY

        TRY     "pae-reserved-bit-write-r3"
        IDT_GATE 14, pf_without_p
        ENTER_RING3 .pae3
.pae3:
        mov     dword [0x1F0000], 0
        RING0
        ENDTRY
        RESTORE_GATE 14
        and     dword [PAE_PT + (0x1F0000 >> 12) * 8 + 4], ~(1 << 8)

        mov     eax, cr0
        and     eax, ~CR0_PG
        mov     cr0, eax
        mov     eax, cr4
        and     eax, ~CR4_PAE
        mov     cr4, eax
        DONE

; #PF for the reserved-bit checks: prints the error code without P, CR2, and where it came from,
; then resumes at the TRY's ENDTRY like the library's handler.
pf_without_p:
        mov     ax, SEL_DATA0
        mov     ds, ax
        pop     eax
        and     eax, ~P
        FIELD   " #PF(err-without-P=", eax, 16
        PRINT   ")"
        FIELD   " eip=", [esp], 32
        FIELD   " cs=", [esp + 4], 16
        mov     eax, cr2
        FIELD   " cr2=", eax, 32
        jmp     lib_isr_common.recover

%include "lib/end.inc"
