package io.pvecri.daemon.pod;

import io.pvecri.daemon.util.Command;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Reads /proc/self/mountinfo: is a path a mount point, and does it propagate (shared)? */
final class MountTable {
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private MountTable() {}

    /** A mountinfo line: mount point (field 5) and its optional fields (shared:N, master:N). */
    private record Entry(String mountPoint, String optional) {}

    private static List<Entry> entries() throws IOException {
        return Files.readAllLines(MOUNTINFO).stream().map(line -> {
            String[] f = line.split(" ");
            StringBuilder opt = new StringBuilder();
            for (int i = 6; i < f.length && !f[i].equals("-"); i++) {
                opt.append(f[i]).append(' ');
            }
            return new Entry(unescape(f[4]), opt.toString());
        }).toList();
    }

    static boolean isMountPoint(Path p) {
        try {
            String s = p.toAbsolutePath().normalize().toString();
            return entries().stream().anyMatch(e -> e.mountPoint().equals(s));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * nsfs bind mounts must not sit on a shared mount (systemd makes / shared). As `ip netns`
     * does for /run/netns, make {@code dir} a private bind mount of itself when it is not.
     */
    static void ensurePrivate(Path dir) throws IOException {
        String s = dir.toAbsolutePath().normalize().toString();
        Entry owner = null;
        for (Entry e : entries()) {
            String mp = e.mountPoint();
            if ((s.equals(mp) || s.startsWith(mp.endsWith("/") ? mp : mp + "/")) && (owner == null || mp.length() >= owner.mountPoint().length())) {
                owner = e;
            }
        }
        if (owner == null || !owner.optional().contains("shared:")) {
            return;
        }
        Duration t = Duration.ofSeconds(10);
        if (!owner.mountPoint().equals(s)) {
            Command.Result bind = Command.run(List.of("mount", "--bind", s, s), t);
            if (!bind.ok()) {
                throw new IOException(bind.describe());
            }
        }
        Command.Result priv = Command.run(List.of("mount", "--make-private", s), t);
        if (!priv.ok()) {
            throw new IOException(priv.describe());
        }
    }

    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }
}
