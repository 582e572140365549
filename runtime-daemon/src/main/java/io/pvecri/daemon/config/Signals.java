package io.pvecri.daemon.config;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Linux (x86-64) signal names and numbers, for stop signals from images and config. */
public final class Signals {
    private static final Map<String, Integer> NUMBERS = Map.ofEntries(
            Map.entry("HUP", 1), Map.entry("INT", 2), Map.entry("QUIT", 3), Map.entry("ILL", 4),
            Map.entry("TRAP", 5), Map.entry("ABRT", 6), Map.entry("BUS", 7), Map.entry("FPE", 8),
            Map.entry("KILL", 9), Map.entry("USR1", 10), Map.entry("SEGV", 11), Map.entry("USR2", 12),
            Map.entry("PIPE", 13), Map.entry("ALRM", 14), Map.entry("TERM", 15), Map.entry("STKFLT", 16),
            Map.entry("CHLD", 17), Map.entry("CONT", 18), Map.entry("STOP", 19), Map.entry("TSTP", 20),
            Map.entry("TTIN", 21), Map.entry("TTOU", 22), Map.entry("URG", 23), Map.entry("XCPU", 24),
            Map.entry("XFSZ", 25), Map.entry("VTALRM", 26), Map.entry("PROF", 27), Map.entry("WINCH", 28),
            Map.entry("IO", 29), Map.entry("PWR", 30), Map.entry("SYS", 31));

    private Signals() {}

    /** "SIGTERM", "TERM", "term" or "15" to 15; RTMIN+n supported as 34+n. */
    public static Optional<Integer> number(String name) {
        if (name == null || name.isBlank()) {
            return Optional.empty();
        }
        String n = name.trim().toUpperCase(Locale.ROOT);
        if (n.chars().allMatch(Character::isDigit) && n.length() <= 2) {
            int v = Integer.parseInt(n);
            return v >= 1 && v <= 64 ? Optional.of(v) : Optional.empty();
        }
        if (n.startsWith("SIG")) {
            n = n.substring(3);
        }
        if (n.startsWith("RTMIN+")) {
            try {
                int off = Integer.parseInt(n.substring(6));
                return off >= 0 && off <= 30 ? Optional.of(34 + off) : Optional.empty();
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        return Optional.ofNullable(NUMBERS.get(n));
    }
}
