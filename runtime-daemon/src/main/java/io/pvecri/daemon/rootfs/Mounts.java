package io.pvecri.daemon.rootfs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Mount points of the daemon's mount namespace, from {@code /proc/self/mountinfo}. */
final class Mounts {
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private Mounts() {}

    static boolean isMounted(Path dir) {
        return all().contains(dir.toAbsolutePath().normalize());
    }

    /** Mount points strictly below {@code dir}. */
    static List<Path> under(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        return all().stream().filter(p -> p.startsWith(d) && !p.equals(d)).toList();
    }

    static List<Path> all() {
        try {
            return parse(Files.readString(MOUNTINFO));
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Field 5 of each line is the mount point, with space, tab, newline and backslash escaped as octal. */
    static List<Path> parse(String mountinfo) {
        List<Path> out = new ArrayList<>();
        for (String line : mountinfo.split("\n")) {
            String[] f = line.split(" ");
            if (f.length > 4 && f[4].startsWith("/")) {
                out.add(Path.of(unescape(f[4])));
            }
        }
        return out;
    }

    static String unescape(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder sb = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length()
                    && field.substring(i + 1, i + 4).chars().allMatch(ch -> ch >= '0' && ch <= '7')) {
                sb.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
