package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.util.Command;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Host tools (zfs, mkfs.ext4, mount...) run with a deadline; failures become {@link RootfsException}s. */
final class Tools {
    static final Duration SHORT = Duration.ofSeconds(60);
    /** Copying or formatting a whole image tree. */
    static final Duration LONG = Duration.ofMinutes(30);
    private static final List<String> DIRS = List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin");
    private static final Pattern HEX64 = Pattern.compile("^[0-9a-f]{64}$");

    private Tools() {}

    /** The tool's absolute path, searched where Debian installs them (the daemon's PATH may be short). */
    static Optional<Path> find(String tool) {
        return Stream.concat(DIRS.stream(), Stream.of(System.getenv().getOrDefault("PATH", "").split(":")))
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, tool))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /** Runs argv; a bare tool name is looked up as {@link #find} does (not only in the daemon's PATH). */
    static Command.Result run(Duration timeout, List<String> argv) throws RootfsException {
        List<String> resolved = argv;
        if (!argv.getFirst().contains("/")) {
            resolved = new java.util.ArrayList<>(argv);
            resolved.set(0, find(argv.getFirst()).map(Path::toString).orElse(argv.getFirst()));
        }
        try {
            return Command.run(resolved, timeout);
        } catch (IOException e) {
            throw new RootfsException(RootfsException.Reason.FAILED, "cannot run " + argv.getFirst() + ": " + e.getMessage(), e);
        }
    }

    static Command.Result run(String... argv) throws RootfsException {
        return run(SHORT, List.of(argv));
    }

    /** Runs argv and fails unless it exits 0; {@code what} says what was being done. */
    static Command.Result require(String what, Duration timeout, List<String> argv) throws RootfsException {
        Command.Result r = run(timeout, argv);
        if (!r.ok()) {
            throw new RootfsException(RootfsException.classify(r.err()), what + " failed: " + r.describe());
        }
        return r;
    }

    static Command.Result require(String what, String... argv) throws RootfsException {
        return require(what, SHORT, List.of(argv));
    }

    /** The bare 64 hex characters of an image id ({@code sha256:<hex>} or bare). */
    static String imageHex(String imageId) throws RootfsException {
        String hex = imageId.startsWith("sha256:") ? imageId.substring(7) : imageId;
        if (!HEX64.matcher(hex).matches()) {
            throw new RootfsException(RootfsException.Reason.FAILED, "'" + imageId + "' is not an image id (sha256:<64 hex>)");
        }
        return hex;
    }

    /** Container ids are 64 hex characters; anything else would be unsafe in a path or dataset name. */
    static String containerId(String id) throws RootfsException {
        if (!HEX64.matcher(id).matches()) {
            throw new RootfsException(RootfsException.Reason.FAILED, "'" + id + "' is not a container id (64 hex)");
        }
        return id;
    }

    static boolean isHex64(String s) {
        return HEX64.matcher(s).matches();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
