package io.pvecri.daemon.cgroup;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Parses {@code /proc/<pid>/mountinfo} (proc(5)) for cgroup mounts:
 * <pre>36 35 98:0 /root /mnt/point rw,noatime master:1 - cgroup cgroup rw,cpu,cpuacct</pre>
 */
final class MountInfo {

    private MountInfo() {
    }

    /**
     * The {@code cgroup} and {@code cgroup2} mounts in {@code text}, in mount order.
     * Mount points are placed under {@code fsRoot} ("/" on a real host).
     */
    static List<CgroupMount> cgroupMounts(String text, Path fsRoot) {
        List<CgroupMount> mounts = new ArrayList<>();
        for (String line : text.split("\n")) {
            String[] fields = line.strip().split(" ");
            int separator = separatorIndex(fields);
            if (separator < 0 || separator + 3 >= fields.length) {
                continue;
            }
            String fsType = fields[separator + 1];
            if (!fsType.equals("cgroup") && !fsType.equals("cgroup2")) {
                continue;
            }
            String root = unescape(fields[3]);
            String mountPoint = unescape(fields[4]);
            if (!mountPoint.startsWith("/")) {
                continue;
            }
            Set<String> options = Set.copyOf(List.of(fields[separator + 3].split(",")));
            mounts.add(new CgroupMount(root, fsRoot.resolve(mountPoint.substring(1)),
                    fsType.equals("cgroup2"), options));
        }
        return mounts;
    }

    /** Index of the "-" that ends the optional fields, which start at index 6. */
    private static int separatorIndex(String[] fields) {
        for (int i = 6; i < fields.length; i++) {
            if (fields[i].equals("-")) {
                return i;
            }
        }
        return -1;
    }

    /** Undoes the kernel's octal escaping of space, tab, newline and backslash ({@code \040}). */
    static String unescape(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
