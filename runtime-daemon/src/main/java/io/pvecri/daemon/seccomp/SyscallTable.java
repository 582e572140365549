package io.pvecri.daemon.seccomp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/** x86_64 system call numbers by name, from the resource {@code syscalls-x86_64.txt}. */
final class SyscallTable {
    private static final Map<String, Integer> NUMBERS = load();

    private SyscallTable() {}

    static OptionalInt number(String name) {
        Integer n = NUMBERS.get(name);
        return n == null ? OptionalInt.empty() : OptionalInt.of(n);
    }

    static Map<String, Integer> all() {
        return NUMBERS;
    }

    private static Map<String, Integer> load() {
        Map<String, Integer> m = new HashMap<>();
        try (InputStream in = SyscallTable.class.getResourceAsStream("syscalls-x86_64.txt")) {
            if (in == null) {
                throw new IllegalStateException("resource syscalls-x86_64.txt is missing from the build");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.trim().split("\\s+");
                m.put(f[0], Integer.parseInt(f[1]));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.copyOf(m);
    }
}
