package io.pvecri.daemon.seccomp;

import io.pvecri.daemon.seccomp.Bpf.Insn;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Turns a seccomp profile into one classic BPF program for x86_64, the way libseccomp's output
 * behaves for the cases profiles use:
 * <ol>
 * <li>a call from another ABI (i386, x32) fails with ENOSYS, as with pve-cri's RuntimeDefault:
 *     only native numbers are matched, so other ABIs must not slip past the list;</li>
 * <li>each rule is a test of the call's number, then of its argument conditions (all must hold,
 *     64-bit unsigned, as libseccomp compares), then the rule's action; for one call, rules with
 *     argument conditions are tried before rules without, otherwise in file order;</li>
 * <li>anything else gets the default action.</li>
 * </ol>
 * Names this ABI has no number for are skipped (reported), as libseccomp and runc do.
 */
final class FilterCompiler {
    static final int AUDIT_ARCH_X86_64 = 0xc000003e;
    static final int X32_SYSCALL_BIT = 0x40000000;
    static final int ENOSYS = 38;
    static final int EPERM = 1;

    static final int RET_KILL_PROCESS = 0x80000000;
    static final int RET_KILL_THREAD = 0;
    static final int RET_TRAP = 0x00030000;
    static final int RET_ERRNO = 0x00050000;
    static final int RET_TRACE = 0x7ff00000;
    static final int RET_LOG = 0x7ffc0000;
    static final int RET_ALLOW = 0x7fff0000;

    private static final Map<String, Integer> FLAGS = Map.of(
            "SECCOMP_FILTER_FLAG_TSYNC", 1, "SECCOMP_FILTER_FLAG_LOG", 2, "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4);
    private static final Set<String> ARCHES = Set.of("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
            "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
            "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
            "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
            "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB");
    private static final BigInteger MAX_U64 = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    private final Set<String> caps;
    private final int[] kernel;

    /**
     * @param caps   the container's capabilities ("CAP_SYS_ADMIN"), for Docker's includes/excludes
     * @param kernel the running kernel's major and minor version, for Docker's minKernel
     */
    FilterCompiler(Set<String> caps, int[] kernel) {
        this.caps = caps;
        this.kernel = kernel;
    }

    private record Rule(int nr, int ret, List<ProfileJson.Arg> args) {}

    CompiledFilter compile(ProfileJson.Profile p) throws SeccompProfileException {
        if (p.defaultAction() == null) {
            throw new SeccompProfileException("defaultAction is missing");
        }
        if (p.listenerPath() != null && !p.listenerPath().isEmpty()) {
            throw new SeccompProfileException("listenerPath: seccomp user notification (SCMP_ACT_NOTIFY) is not supported by pve-cri");
        }
        int defaultRet = action("defaultAction", p.defaultAction(), p.defaultErrnoRet());
        checkArchitectures(p);
        int flags = 0;
        for (String f : nullToEmpty(p.flags())) {
            Integer bit = FLAGS.get(f);
            if (bit == null) {
                throw new SeccompProfileException("flags: '" + f + "' is not supported; use " + String.join(", ", FLAGS.keySet().stream().sorted().toList()));
            }
            flags |= bit;
        }

        List<Rule> withArgs = new ArrayList<>();
        List<Rule> plain = new ArrayList<>();
        Set<String> skipped = new LinkedHashSet<>();
        List<ProfileJson.Syscall> syscalls = nullToEmpty(p.syscalls());
        for (int i = 0; i < syscalls.size(); i++) {
            ProfileJson.Syscall s = syscalls.get(i);
            String where = "syscalls[" + i + "]";
            if (s == null) {
                throw new SeccompProfileException(where + " is null");
            }
            List<String> names = new ArrayList<>(nullToEmpty(s.names()));
            if (s.name() != null && !s.name().isEmpty()) {
                names.add(s.name());
            }
            if (names.isEmpty()) {
                throw new SeccompProfileException(where + " names no system call (names is empty)");
            }
            if (s.action() == null) {
                throw new SeccompProfileException(where + ".action is missing");
            }
            int ret = action(where + ".action", s.action(), s.errnoRet());
            List<ProfileJson.Arg> args = nullToEmpty(s.args());
            checkArgs(where, args);
            if (!applies(s)) {
                continue;
            }
            for (String name : names) {
                OptionalInt nr = SyscallTable.number(name);
                if (nr.isEmpty()) {
                    skipped.add(name);
                    continue;
                }
                (args.isEmpty() ? plain : withArgs).add(new Rule(nr.getAsInt(), ret, args));
            }
        }

        List<Insn> prog = new ArrayList<>();
        prog.add(Insn.stmt(Bpf.LD_W_ABS, Bpf.ARCH));
        prog.add(Insn.jump(Bpf.JEQ_K, AUDIT_ARCH_X86_64, 1, 0));
        prog.add(Insn.stmt(Bpf.RET_K, RET_ERRNO | ENOSYS));
        prog.add(Insn.stmt(Bpf.LD_W_ABS, Bpf.NR));
        prog.add(Insn.jump(Bpf.JGE_K, X32_SYSCALL_BIT, 0, 1));
        prog.add(Insn.stmt(Bpf.RET_K, RET_ERRNO | ENOSYS));
        for (Rule r : withArgs) {
            argRule(prog, r);
        }
        for (Rule r : plain) {
            prog.add(Insn.jump(Bpf.JEQ_K, r.nr(), 0, 1));
            prog.add(Insn.stmt(Bpf.RET_K, r.ret()));
        }
        prog.add(Insn.stmt(Bpf.RET_K, defaultRet));
        if (prog.size() > Bpf.MAX_INSNS) {
            throw new SeccompProfileException("the profile compiles to " + prog.size() + " BPF instructions; the kernel takes at most "
                    + Bpf.MAX_INSNS);
        }
        return new CompiledFilter(Bpf.encode(prog), flags, List.copyOf(skipped));
    }

    /**
     * {@code JEQ nr} then each condition, any failing one jumping to the block's end, which
     * reloads the call number (the conditions replaced it in the accumulator).
     */
    private static void argRule(List<Insn> prog, Rule r) throws SeccompProfileException {
        List<int[]> block = new ArrayList<>(); // code, jt, jf, k; FAIL = -1 until resolved
        block.add(new int[] {Bpf.JEQ_K, 0, FAIL, r.nr()});
        for (ProfileJson.Arg a : r.args()) {
            condition(block, a);
        }
        block.add(new int[] {Bpf.RET_K, 0, 0, r.ret()});
        int end = block.size();
        for (int i = 0; i < block.size(); i++) {
            int[] b = block.get(i);
            int jt = b[1] == FAIL ? end - i - 1 : b[1];
            int jf = b[2] == FAIL ? end - i - 1 : b[2];
            if (jt > 255 || jf > 255) {
                throw new SeccompProfileException("a rule of the profile has too many argument conditions");
            }
            prog.add(new Insn(b[0], jt, jf, b[3]));
        }
        prog.add(Insn.stmt(Bpf.LD_W_ABS, Bpf.NR));
    }

    private static final int FAIL = -1;

    /** Appends the test of one 64-bit argument condition; falls through when it holds. */
    private static void condition(List<int[]> b, ProfileJson.Arg a) {
        int i = a.index();
        long v = a.value() == null ? 0 : a.value().longValue();
        int hi = (int) (v >>> 32);
        int lo = (int) v;
        switch (a.op()) {
            case "SCMP_CMP_EQ" -> {
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argHigh(i)});
                b.add(new int[] {Bpf.JEQ_K, 0, FAIL, hi});
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argLow(i)});
                b.add(new int[] {Bpf.JEQ_K, 0, FAIL, lo});
            }
            case "SCMP_CMP_NE" -> {
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argHigh(i)});
                b.add(new int[] {Bpf.JEQ_K, 0, 2, hi});
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argLow(i)});
                b.add(new int[] {Bpf.JEQ_K, FAIL, 0, lo});
            }
            case "SCMP_CMP_MASKED_EQ" -> {
                // OCI: value is the mask, valueTwo the expected result.
                long want = a.valueTwo() == null ? 0 : a.valueTwo().longValue();
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argHigh(i)});
                b.add(new int[] {Bpf.AND_K, 0, 0, hi});
                b.add(new int[] {Bpf.JEQ_K, 0, FAIL, (int) (want >>> 32)});
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argLow(i)});
                b.add(new int[] {Bpf.AND_K, 0, 0, lo});
                b.add(new int[] {Bpf.JEQ_K, 0, FAIL, (int) want});
            }
            // Ordered comparisons: decide on the high words unless they are equal, then on the low.
            case "SCMP_CMP_GT", "SCMP_CMP_GE" -> {
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argHigh(i)});
                b.add(new int[] {Bpf.JGT_K, 3, 0, hi});
                b.add(new int[] {Bpf.JEQ_K, 0, FAIL, hi});
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argLow(i)});
                b.add(new int[] {a.op().equals("SCMP_CMP_GT") ? Bpf.JGT_K : Bpf.JGE_K, 0, FAIL, lo});
            }
            case "SCMP_CMP_LT", "SCMP_CMP_LE" -> {
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argHigh(i)});
                b.add(new int[] {Bpf.JGE_K, 0, 3, hi});
                b.add(new int[] {Bpf.JEQ_K, 0, FAIL, hi});
                b.add(new int[] {Bpf.LD_W_ABS, 0, 0, Bpf.argLow(i)});
                b.add(new int[] {a.op().equals("SCMP_CMP_LT") ? Bpf.JGE_K : Bpf.JGT_K, FAIL, 0, lo});
            }
            default -> throw new IllegalStateException("unchecked op " + a.op());
        }
    }

    private static void checkArgs(String where, List<ProfileJson.Arg> args) throws SeccompProfileException {
        if (args.size() > 6) {
            throw new SeccompProfileException(where + ".args has " + args.size() + " conditions; at most 6 are supported");
        }
        for (int j = 0; j < args.size(); j++) {
            ProfileJson.Arg a = args.get(j);
            String at = where + ".args[" + j + "]";
            if (a == null || a.index() == null || a.op() == null) {
                throw new SeccompProfileException(at + " needs index and op");
            }
            if (a.index() < 0 || a.index() > 5) {
                throw new SeccompProfileException(at + ".index " + a.index() + " is out of range 0..5");
            }
            if (!Set.of("SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE",
                    "SCMP_CMP_MASKED_EQ").contains(a.op())) {
                throw new SeccompProfileException(at + ".op '" + a.op() + "' is not one of SCMP_CMP_EQ, NE, LT, LE, GT, GE, MASKED_EQ");
            }
            u64(at + ".value", a.value());
            u64(at + ".valueTwo", a.valueTwo());
        }
    }

    private static void u64(String where, BigInteger v) throws SeccompProfileException {
        if (v != null && (v.signum() < 0 || v.compareTo(MAX_U64) > 0)) {
            throw new SeccompProfileException(where + " " + v + " is not an unsigned 64-bit number");
        }
    }

    /** The BPF return value of an action; errnoRet is the errno (ERRNO) or message (TRACE). */
    private static int action(String where, String action, Integer errnoRet) throws SeccompProfileException {
        if (errnoRet != null && !action.equals("SCMP_ACT_ERRNO") && !action.equals("SCMP_ACT_TRACE")) {
            throw new SeccompProfileException(where + ": errnoRet is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
        }
        return switch (action) {
            case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD" -> RET_KILL_THREAD;
            case "SCMP_ACT_KILL_PROCESS" -> RET_KILL_PROCESS;
            case "SCMP_ACT_TRAP" -> RET_TRAP;
            case "SCMP_ACT_ERRNO" -> RET_ERRNO | data(where, errnoRet, 4095);
            case "SCMP_ACT_TRACE" -> RET_TRACE | data(where, errnoRet, 65535);
            case "SCMP_ACT_LOG" -> RET_LOG;
            case "SCMP_ACT_ALLOW" -> RET_ALLOW;
            case "SCMP_ACT_NOTIFY" -> throw new SeccompProfileException(where + ": SCMP_ACT_NOTIFY (seccomp user notification) is not supported by pve-cri");
            default -> throw new SeccompProfileException(where + " '" + action + "' is not a seccomp action (SCMP_ACT_ALLOW, ERRNO, "
                    + "KILL, KILL_THREAD, KILL_PROCESS, TRAP, TRACE, LOG)");
        };
    }

    private static int data(String where, Integer value, int max) throws SeccompProfileException {
        if (value == null) {
            return EPERM;
        }
        if (value < 0 || value > max) {
            throw new SeccompProfileException(where + ": errnoRet " + value + " is out of range 0.." + max);
        }
        return value;
    }

    private static void checkArchitectures(ProfileJson.Profile p) throws SeccompProfileException {
        List<String> arches = new ArrayList<>(nullToEmpty(p.architectures()));
        for (ProfileJson.ArchMap m : nullToEmpty(p.archMap())) {
            if (m != null && m.architecture() != null) {
                arches.add(m.architecture());
                arches.addAll(nullToEmpty(m.subArchitectures()));
            }
        }
        for (String a : arches) {
            if (!ARCHES.contains(a)) {
                throw new SeccompProfileException("architectures: '" + a + "' is not a libseccomp architecture (SCMP_ARCH_X86_64, ...)");
            }
        }
        if (!arches.isEmpty() && !arches.contains("SCMP_ARCH_X86_64")) {
            throw new SeccompProfileException("architectures " + arches + " do not include SCMP_ARCH_X86_64, this node's");
        }
    }

    /** Docker's includes/excludes: every included capability present, no excluded one, arch and kernel match. */
    private boolean applies(ProfileJson.Syscall s) throws SeccompProfileException {
        ProfileJson.Condition in = s.includes();
        if (in != null) {
            for (String c : nullToEmpty(in.caps())) {
                if (!caps.contains(capName(c))) {
                    return false;
                }
            }
            if (!nullToEmpty(in.arches()).isEmpty() && nullToEmpty(in.arches()).stream().noneMatch(FilterCompiler::native_)) {
                return false;
            }
            if (in.minKernel() != null && !in.minKernel().isEmpty() && !kernelAtLeast(in.minKernel())) {
                return false;
            }
        }
        ProfileJson.Condition ex = s.excludes();
        if (ex != null) {
            for (String c : nullToEmpty(ex.caps())) {
                if (caps.contains(capName(c))) {
                    return false;
                }
            }
            if (nullToEmpty(ex.arches()).stream().anyMatch(FilterCompiler::native_)) {
                return false;
            }
            if (ex.minKernel() != null && !ex.minKernel().isEmpty()) {
                throw new SeccompProfileException("excludes.minKernel is not supported (Docker only knows includes.minKernel)");
            }
        }
        return true;
    }

    private static boolean native_(String arch) {
        return arch.equals("amd64") || arch.equals("x86_64") || arch.equals("SCMP_ARCH_X86_64");
    }

    private static String capName(String c) {
        String n = c.toUpperCase(Locale.ROOT);
        return n.startsWith("CAP_") ? n : "CAP_" + n;
    }

    private boolean kernelAtLeast(String min) throws SeccompProfileException {
        int[] want = parseKernel(min);
        if (want == null) {
            throw new SeccompProfileException("includes.minKernel '" + min + "' is not a kernel version such as 5.8");
        }
        return kernel[0] != want[0] ? kernel[0] > want[0] : kernel[1] >= want[1];
    }

    /** "6.1.0-25-amd64" → {6, 1}; null when it does not start with major.minor. */
    static int[] parseKernel(String v) {
        var m = java.util.regex.Pattern.compile("^(\\d{1,4})\\.(\\d{1,4})").matcher(v);
        return m.find() ? new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))} : null;
    }

    private static <T> List<T> nullToEmpty(List<T> l) {
        return l == null ? List.of() : l;
    }
}
