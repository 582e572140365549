package io.pvecri.daemon.seccomp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Classic BPF as seccomp runs it: the instructions the compiler emits and their kernel encoding. */
final class Bpf {
    static final int LD_W_ABS = 0x20;   // BPF_LD | BPF_W | BPF_ABS
    static final int JEQ_K = 0x15;      // BPF_JMP | BPF_JEQ | BPF_K
    static final int JGT_K = 0x25;      // BPF_JMP | BPF_JGT | BPF_K
    static final int JGE_K = 0x35;      // BPF_JMP | BPF_JGE | BPF_K
    static final int AND_K = 0x54;      // BPF_ALU | BPF_AND | BPF_K
    static final int RET_K = 0x06;      // BPF_RET | BPF_K

    /** Offsets in struct seccomp_data. */
    static final int NR = 0;
    static final int ARCH = 4;

    static int argLow(int index) {
        return 16 + 8 * index;
    }

    static int argHigh(int index) {
        return argLow(index) + 4;
    }

    /** The kernel's limit on a filter's length (BPF_MAXINSNS). */
    static final int MAX_INSNS = 4096;

    /** One struct sock_filter; jt/jf are forward offsets of 0..255. */
    record Insn(int code, int jt, int jf, int k) {
        Insn {
            if (jt < 0 || jt > 255 || jf < 0 || jf > 255) {
                throw new IllegalArgumentException("jump offset out of range: " + jt + "/" + jf);
            }
        }

        static Insn stmt(int code, int k) {
            return new Insn(code, 0, 0, k);
        }

        static Insn jump(int code, int k, int jt, int jf) {
            return new Insn(code, jt, jf, k);
        }
    }

    private Bpf() {}

    /** The program as the kernel reads it: an array of struct sock_filter in host (little-endian) order. */
    static byte[] encode(List<Insn> program) {
        ByteBuffer b = ByteBuffer.allocate(program.size() * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (Insn i : program) {
            b.putShort((short) i.code()).put((byte) i.jt()).put((byte) i.jf()).putInt(i.k());
        }
        return b.array();
    }
}
