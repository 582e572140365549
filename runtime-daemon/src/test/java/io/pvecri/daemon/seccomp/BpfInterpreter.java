package io.pvecri.daemon.seccomp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Runs a compiled seccomp program on one system call, with the semantics of the kernel's classic
 * BPF for the instructions the compiler emits (32-bit unsigned accumulator, forward jumps).
 */
final class BpfInterpreter {
    private final ByteBuffer program;

    BpfInterpreter(byte[] program) {
        this.program = ByteBuffer.wrap(program).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The program's return value for call {@code nr} of ABI {@code arch} with {@code args} (up to 6). */
    int callFrom(int arch, int nr, long... args) {
        ByteBuffer data = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        data.putInt(0, nr).putInt(4, arch).putLong(8, 0x401000L);
        for (int i = 0; i < args.length; i++) {
            data.putLong(16 + 8 * i, args[i]);
        }
        int a = 0;
        int pc = 0;
        int n = program.capacity() / 8;
        for (int steps = 0; steps <= n; steps++) {
            if (pc >= n) {
                throw new AssertionError("ran off the end of the program at " + pc);
            }
            int code = program.getShort(pc * 8) & 0xffff;
            int jt = program.get(pc * 8 + 2) & 0xff;
            int jf = program.get(pc * 8 + 3) & 0xff;
            int k = program.getInt(pc * 8 + 4);
            pc++;
            switch (code) {
                case Bpf.LD_W_ABS -> {
                    if (k < 0 || k > 60 || k % 4 != 0) {
                        throw new AssertionError("load outside seccomp_data: " + k);
                    }
                    a = data.getInt(k);
                }
                case Bpf.AND_K -> a &= k;
                case Bpf.JEQ_K -> pc += a == k ? jt : jf;
                case Bpf.JGT_K -> pc += Integer.compareUnsigned(a, k) > 0 ? jt : jf;
                case Bpf.JGE_K -> pc += Integer.compareUnsigned(a, k) >= 0 ? jt : jf;
                case Bpf.RET_K -> {
                    return k;
                }
                default -> throw new AssertionError("unexpected instruction code 0x" + Integer.toHexString(code));
            }
        }
        throw new AssertionError("no return");
    }

    /** The same for a native (x86_64) call. */
    int call(int nr, long... args) {
        return callFrom(FilterCompiler.AUDIT_ARCH_X86_64, nr, args);
    }
}
