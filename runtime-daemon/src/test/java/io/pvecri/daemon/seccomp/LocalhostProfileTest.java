package io.pvecri.daemon.seccomp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static io.pvecri.daemon.seccomp.FilterCompiler.RET_ALLOW;
import static io.pvecri.daemon.seccomp.FilterCompiler.RET_ERRNO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Compiling profiles from files, checked by running the programs through {@link BpfInterpreter}. */
class LocalhostProfileTest {
    private static final int CHMOD = 90;
    private static final int FCHMODAT = 268;
    private static final int KILL = 62;
    private static final int MOUNT = 165;
    private static final int READ = 0;
    private static final int AUDIT_ARCH_I386 = 0x40000003;

    @TempDir
    Path dir;

    private CompiledFilter compile(String json, String... caps) throws Exception {
        return LocalhostProfile.compile(Files.writeString(dir.resolve("p.json"), json), Set.of(caps));
    }

    private BpfInterpreter program(String json, String... caps) throws Exception {
        return new BpfInterpreter(compile(json, caps).program());
    }

    private String error(String json) {
        return assertThrows(SeccompProfileException.class, () -> compile(json)).getMessage();
    }

    @Test
    void namedCallsGetTheRuleOthersTheDefaultOtherAbisEnosys() throws Exception {
        var p = program("""
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]}""");
        assertEquals(RET_ERRNO | 1, p.call(CHMOD), "EPERM by default");
        assertEquals(RET_ERRNO | 1, p.call(FCHMODAT));
        assertEquals(RET_ALLOW, p.call(READ));
        assertEquals(RET_ERRNO | 38, p.callFrom(AUDIT_ARCH_I386, 15), "i386 calls: ENOSYS");
        assertEquals(RET_ERRNO | 38, p.call(0x40000000 | CHMOD), "x32 calls: ENOSYS");
    }

    @ParameterizedTest
    @CsvSource({
            "SCMP_ACT_KILL, , 0",
            "SCMP_ACT_KILL_THREAD, , 0",
            "SCMP_ACT_KILL_PROCESS, , 0x80000000",
            "SCMP_ACT_TRAP, , 0x00030000",
            "SCMP_ACT_ERRNO, 13, 0x0005000d",
            "SCMP_ACT_TRACE, 7, 0x7ff00007",
            "SCMP_ACT_LOG, , 0x7ffc0000",
            "SCMP_ACT_ALLOW, , 0x7fff0000"})
    void actionsAndTheirData(String action, Integer errnoRet, String expected) throws Exception {
        String ret = errnoRet == null ? "" : ", \"errnoRet\": " + errnoRet;
        var p = program("""
                {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 22,
                 "syscalls": [{"names": ["kill"], "action": "%s"%s}]}""".formatted(action, ret));
        assertEquals(Integer.parseUnsignedInt(expected.replace("0x", ""), 16), p.call(KILL));
        assertEquals(RET_ERRNO | 22, p.call(READ), "defaultErrnoRet");
    }

    /** Values around the 32-bit word boundaries, where a wrong high/low split would show. */
    private static final long[] EDGES = {0, 1, 5, 0x7fffffffL, 0x80000000L, 0xffffffffL, 0x100000000L, 0x100000001L,
            0x100000005L, 0x1ffffffffL, 0x7fffffffffffffffL, 0x8000000000000000L, -2L, -1L};

    @ParameterizedTest
    @CsvSource({"SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT", "SCMP_CMP_GE"})
    void comparisonsAreUnsigned64Bit(String op) throws Exception {
        for (long v : EDGES) {
            var p = program("""
                    {"defaultAction": "SCMP_ACT_ALLOW",
                     "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 2, "value": %s, "op": "%s"}]}]}"""
                    .formatted(Long.toUnsignedString(v), op));
            for (long a : EDGES) {
                int c = Long.compareUnsigned(a, v);
                boolean holds = switch (op) {
                    case "SCMP_CMP_EQ" -> c == 0;
                    case "SCMP_CMP_NE" -> c != 0;
                    case "SCMP_CMP_LT" -> c < 0;
                    case "SCMP_CMP_LE" -> c <= 0;
                    case "SCMP_CMP_GT" -> c > 0;
                    default -> c >= 0;
                };
                assertEquals(holds ? RET_ERRNO | 1 : RET_ALLOW, p.call(KILL, 0, 0, a),
                        Long.toUnsignedString(a, 16) + " " + op + " " + Long.toUnsignedString(v, 16));
            }
            assertEquals(RET_ALLOW, p.call(READ, 0, 0, v), "another call is not tested");
        }
    }

    @Test
    void maskedEqualityComparesTheMaskedValue() throws Exception {
        var p = program("""
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                               "args": [{"index": 1, "value": 18446462598732840960, "valueTwo": 1311673391471656960,
                                         "op": "SCMP_CMP_MASKED_EQ"}]}]}""");
        // mask 0xffff0000_00000000, wanted 0x12340000_00000000
        assertEquals(RET_ERRNO | 1, p.call(CHMOD, 0, 0x1234000000000000L));
        assertEquals(RET_ERRNO | 1, p.call(CHMOD, 0, 0x12340000ffffffffL), "bits outside the mask do not matter");
        assertEquals(RET_ALLOW, p.call(CHMOD, 0, 0x1235000000000000L));
        assertEquals(RET_ALLOW, p.call(CHMOD, 0, 0));
    }

    @Test
    void allConditionsOfARuleMustHold() throws Exception {
        var p = program("""
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                               "args": [{"index": 0, "value": 100, "op": "SCMP_CMP_GT"}, {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}]}""");
        assertEquals(RET_ERRNO | 1, p.call(KILL, 101, 9));
        assertEquals(RET_ALLOW, p.call(KILL, 100, 9));
        assertEquals(RET_ALLOW, p.call(KILL, 101, 15));
    }

    @Test
    void rulesWithConditionsComeBeforeRulesWithoutForTheSameCall() throws Exception {
        var p = program("""
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                              {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 511, "op": "SCMP_CMP_EQ"}]},
                              {"names": ["kill"], "action": "SCMP_ACT_LOG"}]}""");
        assertEquals(RET_ERRNO | 1, p.call(CHMOD, 0, 0777));
        assertEquals(RET_ERRNO | 13, p.call(CHMOD, 0, 0755));
        assertEquals(FilterCompiler.RET_LOG, p.call(KILL, 1, 9), "the test of the next call starts from its number again");
    }

    @Test
    void dockerConditionsOnCapabilitiesArchesAndKernel() throws Exception {
        String json = """
                {"defaultAction": "SCMP_ACT_ERRNO",
                 "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                              {"names": ["kill"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                              {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
                              {"names": ["chmod"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"], "minKernel": "3.10"}},
                              {"names": ["fchmodat"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "999.0"}}]}""";
        var plain = program(json, "CAP_CHOWN");
        assertEquals(RET_ERRNO | 1, plain.call(MOUNT));
        assertEquals(RET_ALLOW, plain.call(KILL));
        assertEquals(RET_ERRNO | 1, plain.call(READ), "a rule for arm64 only");
        assertEquals(RET_ALLOW, plain.call(CHMOD));
        assertEquals(RET_ERRNO | 1, plain.call(FCHMODAT), "a rule for a future kernel");
        var admin = program(json, "CAP_CHOWN", "CAP_SYS_ADMIN");
        assertEquals(RET_ALLOW, admin.call(MOUNT));
        assertEquals(RET_ERRNO | 1, admin.call(KILL));
    }

    @Test
    void unknownNamesAreSkippedAndReportedFlagsKept() throws Exception {
        CompiledFilter f = compile("""
                {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                 "syscalls": [{"names": ["chmod", "no_such_call"], "action": "SCMP_ACT_ERRNO"}, {"name": "arm_fadvise64_64", "action": "SCMP_ACT_ERRNO"}]}""");
        assertEquals(List.of("no_such_call", "arm_fadvise64_64"), f.skippedNames());
        assertEquals(6, f.flags());
        assertEquals(RET_ERRNO | 1, new BpfInterpreter(f.program()).call(CHMOD));
    }

    @Test
    void anAllowListOfEveryCallFitsTheKernelLimit() throws Exception {
        List<String> names = new ArrayList<>();
        SyscallTable.all().keySet().stream().sorted().filter(n -> !n.equals("kill")).forEach(n -> names.add("\"" + n + "\""));
        CompiledFilter f = compile("""
                {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                 "syscalls": [{"names": [%s], "action": "SCMP_ACT_ALLOW"}]}""".formatted(String.join(",", names)));
        assertTrue(f.instructions() < Bpf.MAX_INSNS, f.instructions() + " instructions");
        var p = new BpfInterpreter(f.program());
        for (var e : SyscallTable.all().entrySet()) {
            assertEquals(e.getKey().equals("kill") ? RET_ERRNO | 1 : RET_ALLOW, p.call(e.getValue()), e.getKey());
        }
    }

    @Test
    void aProfileTooLargeForTheKernelIsRefused() {
        StringBuilder rules = new StringBuilder();
        for (int i = 0; i < 600; i++) {
            rules.append(i == 0 ? "" : ",").append("""
                    {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": %d, "op": "SCMP_CMP_LT"}]}""".formatted(i));
        }
        String msg = error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [" + rules + "]}");
        assertTrue(msg.contains("BPF instructions; the kernel takes at most 4096"), msg);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"syscalls\": []}| defaultAction is missing",
            "{\"defaultAction\": \"SCMP_ACT_NOPE\"}| defaultAction 'SCMP_ACT_NOPE' is not a seccomp action",
            "{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}| SCMP_ACT_NOTIFY (seccomp user notification) is not supported",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/agent.sock\"}| listenerPath",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}| errnoRet is only meaningful with SCMP_ACT_ERRNO",
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 5000}| errnoRet 5000 is out of range 0..4095",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_AARCH64\"]}| do not include SCMP_ARCH_X86_64",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]}| 'SCMP_ARCH_Z80' is not a libseccomp architecture",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}| flags: 'SECCOMP_FILTER_FLAG_NEW_LISTENER' is not supported",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}| syscalls[0] names no system call",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"kill\"]}]}| syscalls[0].action is missing",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}| syscalls[0].args[0].index 6 is out of range 0..5",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_SAME\"}]}]}| syscalls[0].args[0].op 'SCMP_CMP_SAME' is not one of",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}| value -1 is not an unsigned 64-bit number",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscall\": []}| unknown field 'syscall'",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"arg\": []}]}| unknown field 'arg' at syscalls[0]",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\",| is not valid JSON",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\"} {}| is not valid JSON: text follows the profile",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": \"kill\", \"action\": \"SCMP_ACT_ERRNO\"}]}| a value of the wrong type at syscalls[0].names",
            "null| is empty (null)"})
    void badProfilesSayWhatIsWrong(String json, String expected) {
        String msg = error(json);
        assertTrue(msg.contains(expected.strip()), msg);
        assertTrue(msg.startsWith("seccomp profile " + dir.resolve("p.json")), "names the file: " + msg);
    }

    @Test
    void theFileMustBeAReadableRegularFileOfReasonableSize() throws IOException {
        assertTrue(assertThrows(SeccompProfileException.class, () -> LocalhostProfile.compile(Path.of("relative.json"), Set.of()))
                .getMessage().contains("must be a clean absolute path"));
        assertTrue(assertThrows(SeccompProfileException.class, () -> LocalhostProfile.compile(dir.resolve("a/../p.json"), Set.of()))
                .getMessage().contains("must be a clean absolute path"));
        assertTrue(assertThrows(SeccompProfileException.class, () -> LocalhostProfile.compile(dir.resolve("missing.json"), Set.of()))
                .getMessage().contains("does not exist or is not a regular file"));
        assertTrue(assertThrows(SeccompProfileException.class, () -> LocalhostProfile.compile(dir, Set.of()))
                .getMessage().contains("is not a regular file"));
        Path big = dir.resolve("big.json");
        Files.write(big, new byte[(int) LocalhostProfile.MAX_BYTES + 1]);
        assertTrue(assertThrows(SeccompProfileException.class, () -> LocalhostProfile.compile(big, Set.of()))
                .getMessage().contains("is larger than"));
    }
}
