package io.pvecri.daemon.rootfs;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway ZFS pool for a test class: a 1 GiB sparse file {@code /tmp/pvecri-zpool-<tag>.img}
 * holding pool {@code pvecri-t<tag>}, created before the first test and destroyed (with the file)
 * after the last. The pool stays out of ZFS's cache file, so a test run that is killed leaves no pool
 * for the next daemon start to import. Needs the zfs-fuse daemon (or kernel ZFS):
 * deploy/setup-host.sh installs and starts it.
 * <pre>
 * &#64;RegisterExtension &#64;Order(1)
 * static final ZfsPool zfs = new ZfsPool();
 * </pre>
 */
public final class ZfsPool implements BeforeAllCallback, AfterAllCallback {
    private static final long SIZE = 1L << 30;

    private final String tag = HexFormat.of().formatHex(java.security.SecureRandom.getSeed(4));
    private final String pool = "pvecri-t" + tag;
    private final Path file = Path.of("/tmp", "pvecri-zpool-" + tag + ".img");
    private boolean created;

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        Result ping = run("zpool", "list", "-H");
        if (ping.code() != 0) {
            throw new IllegalStateException("ZFS is not available (zpool list: " + ping.out().strip() + "): the zfs-fuse "
                    + "daemon must be running; run deploy/setup-host.sh (installs zfs-fuse and starts it)");
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(SIZE);
        }
        Result r = run("zpool", "create", "-o", "cachefile=none", "-m", "none", pool, file.toString());
        if (r.code() != 0) {
            Files.deleteIfExists(file);
            throw new IllegalStateException("zpool create " + pool + " failed: " + r.out());
        }
        created = true;
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (created) {
            Result r = null;
            for (int i = 0; i < 50; i++) {
                r = run("zpool", "destroy", "-f", pool);
                if (r.code() == 0 || r.out().contains("no such pool")) {
                    break;
                }
                sleep(200);
            }
            created = false;
            Files.deleteIfExists(file);
            if (r != null && r.code() != 0 && !r.out().contains("no such pool")) {
                throw new IllegalStateException("zpool destroy " + pool + " failed: " + r.out());
            }
        }
    }

    /** The pool's name. */
    public String pool() {
        return pool;
    }

    /** Every dataset and snapshot of the pool below {@code dataset}, names only. */
    public List<String> list(String dataset) {
        Result r = run("zfs", "list", "-H", "-o", "name", "-t", "all", "-r", dataset);
        return r.code() == 0 ? r.out().lines().filter(l -> !l.isBlank()).toList() : List.of();
    }

    public boolean exists(String dataset) {
        return run("zfs", "list", "-H", "-o", "name", dataset).code() == 0;
    }

    /** Output of a zfs command that must succeed. */
    public static String zfs(String... args) {
        String[] argv = new String[args.length + 1];
        argv[0] = "zfs";
        System.arraycopy(args, 0, argv, 1, args.length);
        Result r = run(argv);
        if (r.code() != 0) {
            throw new AssertionError(String.join(" ", argv) + " failed: " + r.out());
        }
        return r.out();
    }

    record Result(int code, String out) {}

    static Result run(String... argv) {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, out + " (timed out)");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, e.toString());
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
