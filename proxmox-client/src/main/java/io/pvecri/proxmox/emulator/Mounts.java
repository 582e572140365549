package io.pvecri.proxmox.emulator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** This host's mount table ({@code /proc/self/mountinfo}) and unmounting. */
final class Mounts {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private Mounts() {
    }

    /** Mount points at or below {@code dir}, deepest first. */
    static List<Path> below(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        List<Path> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length > 4) {
                    Path mp = Path.of(HostCgroups.unescape(f[4]));
                    if (mp.startsWith(d)) {
                        out.add(mp);
                    }
                }
            }
        } catch (IOException e) {
            throw PveError.die("cannot read the mount table: " + e.getMessage());
        }
        out.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        return out;
    }

    static boolean isMountPoint(Path p) {
        Path n = p.toAbsolutePath().normalize();
        return below(n).stream().anyMatch(n::equals);
    }

    /** Unmounts everything mounted at or below {@code p} (deepest first); lazily when a mount is busy. */
    static void unmount(Path p) {
        for (Path mp : below(p)) {
            Exec.Result r = Exec.run(List.of("umount", mp.toString()), TIMEOUT);
            if (!r.ok() && isMountPoint(mp)) {
                Exec.Result lazy = Exec.run(List.of("umount", "-l", mp.toString()), TIMEOUT);
                if (!lazy.ok() && isMountPoint(mp)) {
                    throw PveError.die("unable to unmount '" + mp + "': " + r.err().strip());
                }
            }
        }
    }
}
