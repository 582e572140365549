package io.pvecri.proxmox;

import io.pvecri.proxmox.emulator.EmulatorConfig;
import io.pvecri.proxmox.emulator.PveEmulator;
import io.pvecri.proxmox.emulator.ServerTls;
import io.pvecri.proxmox.node.NodeFiles;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * An emulator with a state directory (real LXC CTs) plus a pinned client, a busybox CT template
 * built from the host's static busybox, and a cleanup that leaves nothing behind even when a test
 * fails: CTs killed, everything below the state directory unmounted, the directory deleted.
 */
final class RealFixture implements AutoCloseable {

    static final String NODE = "pve1";
    static final String TOKEN_ID = "pve-cri@pve!test";
    static final String TEMPLATE = "local:vztmpl/busybox.tar.zst";
    static final Duration T = Duration.ofSeconds(60);

    final Path state;
    final String secret = UUID.randomUUID().toString();
    PveEmulator pve;
    PveClient client;
    private final UnaryOperator<EmulatorConfig.Builder> tweak;

    /** Skips the calling test (with the reason printed) unless this host can run real CTs. */
    static void assumeRealLxc() {
        String reason = null;
        if (!"root".equals(System.getProperty("user.name"))) {
            reason = "needs root (mounts, LXC)";
        } else if (!onPath("lxc-start") || !onPath("lxc-usernsexec")) {
            reason = "needs LXC (lxc-start, lxc-usernsexec)";
        } else if (!Files.isExecutable(Path.of("/bin/busybox"))) {
            reason = "needs a static /bin/busybox (busybox-static)";
        } else if (!onPath("zstd")) {
            reason = "needs zstd";
        } else if (!subIds("/etc/subuid") || !subIds("/etc/subgid")) {
            reason = "needs root:100000:65536 in /etc/subuid and /etc/subgid (deploy/setup-host.sh adds it)";
        }
        if (reason != null) {
            System.out.println("SKIPPED real-LXC emulator test: " + reason);
        }
        Assumptions.assumeTrue(reason == null, reason);
    }

    RealFixture() throws IOException {
        this(b -> b);
    }

    RealFixture(UnaryOperator<EmulatorConfig.Builder> tweak) throws IOException {
        this.tweak = tweak;
        this.state = Files.createTempDirectory("pve-emu-");
        try {
            startEmulator();
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** (Re)starts the emulator and its client on the state directory. */
    void startEmulator() {
        TestCerts.Cert cert = TestCerts.localhost();
        pve = PveEmulator.start(tweak.apply(EmulatorConfig.builder(ServerTls.of(cert.keyStore(), TestCerts.PASSWORD))
                .nodes(NODE).token(TOKEN_ID, secret).stateDir(state)
                .configLockTimeout(Duration.ofSeconds(10)).createLockTimeout(Duration.ofSeconds(5))
                .taskDuration(Duration.ZERO).authFailureDelay(Duration.ofMillis(20))).build());
        client = PveClient.create(PveClientConfig.builder(pve.uri(), new ApiToken(TOKEN_ID, secret),
                        new TlsTrust.Fingerprint(cert.fingerprint()))
                .lockRetry(new LockRetry.Policy(2, new Backoff(Duration.ofMillis(10), Duration.ofMillis(80), 2.0)))
                .taskPoll(new Backoff(Duration.ofMillis(20), Duration.ofMillis(200), 1.5))
                .requestTimeout(Duration.ofSeconds(60)).build());
    }

    /** Closes the client and the emulator; CTs keep running, files stay. */
    void stopEmulator() {
        if (client != null) {
            client.close();
            client = null;
        }
        if (pve != null) {
            pve.close();
            pve = null;
        }
    }

    LxcApi lxc() {
        return client.lxc(NODE);
    }

    NodeFiles files() {
        return NodeFiles.under(state);
    }

    void await(Upid upid) {
        client.taskWaiter().await(upid, T);
    }

    /** Builds the busybox template (with {@code /init.sh}) and uploads it through the API. */
    void uploadTemplate() throws IOException {
        Path work = Files.createTempDirectory(state, "tmpl-");
        Path root = work.resolve("rootfs");
        for (String d : List.of("bin", "sbin", "etc", "root", "tmp", "proc", "sys", "dev", "mnt")) {
            Files.createDirectories(root.resolve(d));
        }
        Files.copy(Path.of("/bin/busybox"), root.resolve("bin/busybox"));
        for (String applet : List.of("sh", "sleep", "cat", "echo", "id", "touch", "ls")) {
            Files.createSymbolicLink(root.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        // the CT's init: records who it runs as, then waits for the shutdown signal (SIGPWR, lxc.signal.halt)
        Files.writeString(root.resolve("init.sh"), """
                #!/bin/sh
                trap 'echo stopping >> /root/log; exit 0' PWR TERM
                id -u > /root/uid
                echo started >> /root/log
                while true; do sleep 1 & wait $!; done
                """);
        Files.setPosixFilePermissions(root.resolve("init.sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Path archive = work.resolve("busybox.tar.zst");
        run(List.of("tar", "--zstd", "--numeric-owner", "--owner=0", "--group=0", "-cf", archive.toString(), "-C", root.toString(), "."));
        await(client.storage(NODE).upload("local", "vztmpl", archive, "busybox.tar.zst", Optional.empty()));
        deleteTree(work);
    }

    /** Creates an unprivileged CT from the busybox template on local-zfs. */
    void createCt(int vmid, Map<String, String> extra) {
        PveParams p = PveParams.of().with("ostemplate", TEMPLATE).with("storage", "local-zfs")
                .with("unprivileged", true).with("hostname", "ct" + vmid).with("memory", 128).withAll(PveParams.of(extra));
        await(lxc().create(vmid, p));
    }

    Path volume(String name) {
        return state.resolve("storage/local-zfs").resolve(name);
    }

    /** Mount points at or below the state directory. */
    List<Path> mounts() {
        List<Path> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                Path mp = Path.of(f[4].replace("\\040", " "));
                if (mp.startsWith(state)) {
                    out.add(mp);
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }

    @Override
    public void close() {
        stopEmulator();
        Path lxcPath = state.resolve("var/lib/lxc");
        if (Files.isDirectory(lxcPath)) {
            try (var ds = Files.list(lxcPath)) {
                for (Path d : ds.toList()) {
                    if (Files.exists(d.resolve("config"))) {
                        runQuietly(List.of("lxc-stop", "-n", d.getFileName().toString(), "-P", lxcPath.toString(), "--kill"));
                    }
                }
            } catch (IOException e) {
                // fall through to the unmounting
            }
        }
        List<Path> mounted = mounts();
        mounted.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        for (Path mp : mounted) {
            runQuietly(List.of("umount", "-l", mp.toString()));
        }
        if (mounts().isEmpty()) {
            deleteTree(state);
        } else {
            System.out.println("RealFixture: left " + state + " in place, still mounted: " + mounts());
        }
    }

    static void run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    private static void runQuietly(List<String> cmd) {
        try {
            run(cmd);
        } catch (IOException e) {
            // best effort during cleanup
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.out.println("RealFixture: cannot delete " + dir + ": " + e);
        }
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    private static boolean subIds(String file) {
        try {
            for (String line : Files.readAllLines(Path.of(file))) {
                String[] f = line.strip().split(":");
                if (f.length == 3 && f[0].equals("root") && Long.parseLong(f[1]) <= 100_000
                        && Long.parseLong(f[1]) + Long.parseLong(f[2]) >= 165_536) {
                    return true;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false;
        }
        return false;
    }
}
