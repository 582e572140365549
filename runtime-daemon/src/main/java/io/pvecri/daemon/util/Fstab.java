package io.pvecri.daemon.util;

import java.nio.file.Path;

/** fstab(5) field syntax, used by LXC's {@code lxc.mount.entry}. */
public final class Fstab {
    private Fstab() {}

    /** Escapes space, tab, newline and backslash as octal, as fstab fields require. */
    public static String escape(Path p) {
        String s = p.toString();
        StringBuilder sb = new StringBuilder(s.length());
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case ' ' -> sb.append("\\040");
                case '\t' -> sb.append("\\011");
                case '\n' -> sb.append("\\012");
                case '\\' -> sb.append("\\134");
                default -> sb.append(ch);
            }
        }
        return sb.toString();
    }
}
