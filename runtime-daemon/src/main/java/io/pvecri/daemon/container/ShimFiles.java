package io.pvecri.daemon.container;

import io.pvecri.daemon.util.Posix;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The host side of one container's shim directory (mounted at /.pve-cri inside): the spec the
 * daemon writes, the {@code started} and {@code status} files the shim writes, and its control
 * FIFO. These files are the whole protocol between daemon and shim (docs/shim.md).
 */
final class ShimFiles {
    /** What the shim wrote when the main process was exec'd. */
    record Started(long pid, long startedAtNanos) {}

    /** What the shim wrote when the main process ended (or could not be started). */
    record Exit(int exitCode, long finishedAtNanos, String reason, String error) {}

    private final Path dir;

    ShimFiles(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    Path spec() {
        return dir.resolve("spec");
    }

    Path binary() {
        return dir.resolve("init");
    }

    Path logMount() {
        return dir.resolve("log");
    }

    Optional<Started> started() {
        return read("started").map(kv -> new Started(num(kv, "pid"), num(kv, "started_at")));
    }

    Optional<Exit> exit() {
        return read("status").map(kv -> new Exit((int) num(kv, "exit_code"), num(kv, "finished_at"),
                kv.getOrDefault("reason", ""), kv.getOrDefault("error", "")));
    }

    /** Sends a control command ("signal 15", "kill", "reopen"); false when the shim is gone. */
    boolean command(String line) throws IOException {
        return Posix.writeFifo(dir.resolve("ctl"), line + "\n") == Posix.FifoWrite.WRITTEN;
    }

    private Optional<Map<String, String>> read(String name) {
        Path p = dir.resolve(name);
        try {
            if (!Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) || Files.size(p) > 64 * 1024) {
                return Optional.empty();
            }
            Map<String, String> kv = new HashMap<>();
            for (String line : Files.readString(p, StandardCharsets.UTF_8).split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    kv.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return Optional.of(kv);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static long num(Map<String, String> kv, String key) {
        try {
            return Long.parseLong(kv.getOrDefault(key, "0").strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
