package io.pvecri.daemon.util;

import io.pvecri.daemon.errors.CriException;

import java.util.Collection;
import java.util.HexFormat;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Bounds on what a request may carry, so a bad or hostile client cannot make the daemon store or
 * pass on unbounded data. The figures follow Kubernetes' own API limits where it has them
 * (256 KiB of annotations, 63-char label values are not enforced here since kubelet already does).
 */
public final class RequestLimits {
    public static final int MAX_NAME = 253;
    public static final int MAX_KV_ENTRIES = 1024;
    public static final int MAX_KV_BYTES = 256 * 1024;
    public static final int MAX_ARGV_BYTES = 1024 * 1024;
    public static final int MAX_ARGV_ENTRIES = 4096;
    private static final Pattern ID = Pattern.compile("^[0-9a-f]{1,64}$");

    private RequestLimits() {}

    public static String requireName(String what, String value) {
        if (value == null || value.isEmpty()) {
            throw CriException.invalid(what + " must not be empty");
        }
        if (value.length() > MAX_NAME) {
            throw CriException.invalid(what + " is " + value.length() + " characters long; at most " + MAX_NAME + " are allowed");
        }
        if (value.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '/')) {
            throw CriException.invalid(what + " '" + printable(value) + "' contains '/' or control characters");
        }
        return value;
    }

    /** Labels or annotations: entry count and total size bounded, keys non-empty. */
    public static void requireKeyValues(String what, Map<String, String> kv) {
        if (kv.size() > MAX_KV_ENTRIES) {
            throw CriException.invalid(what + " has " + kv.size() + " entries; at most " + MAX_KV_ENTRIES + " are allowed");
        }
        long bytes = 0;
        for (var e : kv.entrySet()) {
            if (e.getKey().isEmpty()) {
                throw CriException.invalid(what + " has an empty key");
            }
            bytes += e.getKey().length() + e.getValue().length();
        }
        if (bytes > MAX_KV_BYTES) {
            throw CriException.invalid(what + " total " + bytes + " bytes; at most " + MAX_KV_BYTES + " are allowed");
        }
    }

    public static void requireArgv(String what, Collection<String> values) {
        if (values.size() > MAX_ARGV_ENTRIES) {
            throw CriException.invalid(what + " has " + values.size() + " entries; at most " + MAX_ARGV_ENTRIES + " are allowed");
        }
        long bytes = 0;
        for (String v : values) {
            if (v.indexOf('\0') >= 0) {
                throw CriException.invalid(what + " contains a NUL character");
            }
            bytes += v.length();
        }
        if (bytes > MAX_ARGV_BYTES) {
            throw CriException.invalid(what + " total " + bytes + " bytes; at most " + MAX_ARGV_BYTES + " are allowed");
        }
    }

    /** Ids are lowercase hex (a full 64-char id or a unique prefix). */
    public static String requireId(String what, String id) {
        if (id == null || id.isEmpty()) {
            throw CriException.invalid(what + " must not be empty");
        }
        if (!ID.matcher(id).matches()) {
            throw CriException.invalid(what + " '" + printable(id) + "' is not an id (1 to 64 lowercase hex characters)");
        }
        return id;
    }

    public static String newId() {
        byte[] b = new byte[32];
        new java.security.SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    public static String printable(String s) {
        String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        StringBuilder sb = new StringBuilder();
        cut.chars().forEach(c -> sb.append(c < 0x20 || c == 0x7f ? '?' : (char) c));
        return sb.toString();
    }
}
