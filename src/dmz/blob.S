/* husk-dmz, built by make, embedded in husk's binary. */
	.section .rodata
	.balign 16
	.globl husk_dmz_start
husk_dmz_start:
	.incbin HUSK_DMZ_PATH
	.globl husk_dmz_end
husk_dmz_end:
	.section .note.GNU-stack,"",@progbits
