package io.pvecri.daemon.seccomp;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SyscallTableTest {
    private static final Path HEADER = Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");

    @Test
    void everyCallOfTheKernelHeaderHasItsNumber() throws IOException {
        assumeTrue(Files.isRegularFile(HEADER), HEADER + " is not installed (Debian: linux-libc-dev)");
        Matcher m = Pattern.compile("#define __NR_(\\w+) (\\d+)").matcher(Files.readString(HEADER));
        int n = 0;
        while (m.find()) {
            assertEquals(Integer.parseInt(m.group(2)), SyscallTable.number(m.group(1)).orElse(-1), m.group(1));
            n++;
        }
        assertTrue(n > 300, "the header lists " + n + " calls");
    }

    @Test
    void knownNumbersAndNewerCalls() {
        assertEquals(90, SyscallTable.number("chmod").orElseThrow());
        assertEquals(170, SyscallTable.number("sethostname").orElseThrow());
        assertEquals(452, SyscallTable.number("fchmodat2").orElseThrow());
        assertTrue(SyscallTable.number("no_such_call").isEmpty());
        assertEquals(SyscallTable.all().size(), SyscallTable.all().values().stream().distinct().count(), "numbers are unique");
    }
}
