package io.pvecri.daemon.container;

import io.pvecri.daemon.errors.CriException;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Linux capability names and bits; the default set is containerd's (and Docker's). */
final class Capabilities {
    private static final List<String> NAMES = List.of(
            "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
            "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
            "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
            "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
            "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
            "CHECKPOINT_RESTORE");
    private static final Map<String, Integer> BITS;

    static {
        var m = new java.util.HashMap<String, Integer>();
        for (int i = 0; i < NAMES.size(); i++) {
            m.put(NAMES.get(i), i);
        }
        BITS = Map.copyOf(m);
    }

    static final long ALL = (1L << NAMES.size()) - 1;
    static final long DEFAULT = mask(List.of("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
            "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"));

    private Capabilities() {}

    /** Applies CRI add/drop lists ("NET_ADMIN", "CAP_NET_ADMIN" or "ALL") to the default set. */
    static long resolve(List<String> add, List<String> drop) {
        long caps = DEFAULT;
        for (String a : add) {
            caps |= a.equalsIgnoreCase("ALL") ? ALL : bit(a);
        }
        for (String d : drop) {
            caps &= ~(d.equalsIgnoreCase("ALL") ? ALL : bit(d));
        }
        return caps;
    }

    /** The names ("CAP_CHOWN", ...) of the capabilities in {@code mask}. */
    static java.util.Set<String> names(long mask) {
        java.util.Set<String> out = new java.util.HashSet<>();
        for (int i = 0; i < NAMES.size(); i++) {
            if ((mask & (1L << i)) != 0) {
                out.add("CAP_" + NAMES.get(i));
            }
        }
        return java.util.Set.copyOf(out);
    }

    private static long mask(List<String> names) {
        long m = 0;
        for (String n : names) {
            m |= bit(n);
        }
        return m;
    }

    private static long bit(String name) {
        String n = name.toUpperCase(Locale.ROOT);
        if (n.startsWith("CAP_")) {
            n = n.substring(4);
        }
        Integer b = BITS.get(n);
        if (b == null) {
            throw CriException.invalid("unknown capability '" + name + "' in the security context");
        }
        return 1L << b;
    }
}
