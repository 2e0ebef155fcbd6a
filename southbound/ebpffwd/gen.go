package ebpffwd

// The BPF object and its Go bindings (fwd_bpfel.go, fwd_bpfel.o) are
// generated from fwd.c by `make gen` and committed. The flags keep the
// object byte-for-byte reproducible: no absolute paths (bpf2go runs from
// this directory and the prefix map rewrites what is left), no debug
// info beyond the BTF the loader needs (-strip).
//go:generate go tool bpf2go -cc clang -strip llvm-strip -target bpfel -cflags "-O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu" fwd fwd.c
