package io.pvecri.daemon.e2e;

import io.grpc.StatusRuntimeException;
import io.pvecri.daemon.client.CriClient;
import io.pvecri.image.testing.TestImages;
import io.pvecri.proto.admin.v1.AdminServiceGrpc;
import io.pvecri.proto.admin.v1.ImportImageRequest;
import io.pvecri.proto.admin.v1.ImportImageResponse;
import io.pvecri.proto.admin.v1.ImportedImage;
import io.pvecri.proto.cri.v1.ImageServiceGrpc;
import io.pvecri.proto.cri.v1.ListPodSandboxRequest;
import io.pvecri.proto.cri.v1.PodSandbox;
import io.pvecri.proto.cri.v1.RemovePodSandboxRequest;
import io.pvecri.proto.cri.v1.RuntimeServiceGrpc;
import io.pvecri.proto.cri.v1.StopPodSandboxRequest;
import io.pvecri.proto.cri.v1.VersionRequest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One pve-cri daemon process for end-to-end tests, run from the built distribution
 * ({@code -Dpvecri.dist}) against a private temp dir under /tmp (short, for the unix socket):
 *
 * <pre>
 *   /tmp/pce-XXXX/config.yaml   the daemon's config file
 *   /tmp/pce-XXXX/cri.sock      the CRI socket
 *   /tmp/pce-XXXX/state/        the state dir; LXC containers live in state/lxc
 *   /tmp/pce-XXXX/logs/         pod log directories
 *   /tmp/pce-XXXX/daemon.log    the daemon's stderr (all runs, appended)
 * </pre>
 *
 * Threshold-triggered image garbage collection is off ({@code images.gc.highThresholdPercent:
 * 100}) unless {@code extraConfig} has an {@code images:} section, so that no test depends on
 * how full the host's disk is.
 *
 * {@link #close()} removes every trace: pods through the RPCs, then any LXC container left under
 * the lxcpath, then the process, then the temp dir.
 */
public final class Daemon implements AutoCloseable {
    /** Name under which tests import the busybox image; CRI requests use {@link #BUSYBOX}. */
    public static final String BUSYBOX_IMPORT_NAME = "docker.io/library/busybox:e2e";
    public static final String BUSYBOX = "busybox:e2e";

    private static final Duration READY_LIMIT = Duration.ofSeconds(30);
    private static final Duration STOP_LIMIT = Duration.ofSeconds(30);

    private final Path root;
    private final Path socket;
    private final Path stateDir;
    private final Path config;
    private final Path log;
    private final Path executable;
    /** A throwaway network namespace that stands in for the host: bridges, veths and nft rules go there. */
    private final String hostNetns;
    private Process process;
    private CriClient client;
    private ImportedImage busybox;
    private final List<String> leftovers = new ArrayList<>();
    /** Mounts the test made (not the daemon), unmounted by {@link #close()} after the daemon stops. */
    private final List<Path> testMounts = new ArrayList<>();
    private boolean everReady;
    /** The PVE node when the run targets the proxmox backend; null for the lxc backend. */
    private final PveTarget pve;
    /** Container id → LXC name (the VMID on the proxmox backend), remembered after removal. */
    private final java.util.Map<String, String> lxcNames = new java.util.concurrent.ConcurrentHashMap<>();

    private Daemon(Path dist, String extraConfig, String extraNetworkYaml) throws IOException {
        executable = dist.resolve("bin/pve-cri");
        if (!Files.isExecutable(executable)) {
            throw new IllegalStateException("no daemon distribution at " + executable
                    + " (run the e2e tests through `mvn verify`, which builds it and sets -Dpvecri.dist)");
        }
        root = Files.createTempDirectory(Path.of("/tmp"), "pce-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        socket = root.resolve("cri.sock");
        stateDir = root.resolve("state");
        config = root.resolve("config.yaml");
        log = root.resolve("daemon.log");
        Files.createDirectories(root.resolve("logs"));
        hostNetns = "pvecri-e2e-" + root.getFileName().toString().substring(4);
        Host.run(Duration.ofSeconds(30), List.of("ip", "netns", "add", hostNetns));
        Host.run(Duration.ofSeconds(30), List.of("ip", "-n", hostNetns, "link", "set", "lo", "up"));
        pve = PveTarget.selected() ? PveTarget.start(root) : null;
        String backend = pve != null ? pve.yaml() : """
                backend: lxc
                lxc:
                  logLevel: WARN
                """;
        Files.writeString(config, """
                socket: %s
                stateDir: %s
                metrics:
                  listen: "127.0.0.1:0"
                log:
                  level: info
                network:
                  hostNetns: /run/netns/%s
                  masquerade: false
                """.formatted(socket, stateDir, hostNetns)
                .replace("metrics:\n", backend + "metrics:\n")
                + extraNetworkYaml.lines().map(l -> "  " + l + "\n").reduce("", String::concat) + extraConfig
                + (extraConfig.lines().anyMatch(l -> l.startsWith("images:")) ? ""
                        : "images:\n  gc:\n    highThresholdPercent: 100\n"));
    }

    /** Starts a daemon from the distribution named by the {@code pvecri.dist} system property. */
    public static Daemon start() {
        return start("");
    }

    /**
     * As {@link #start()}, with {@code extraConfig} (whole top-level YAML sections, e.g. a
     * {@code gpu:} block) appended to the config file.
     */
    public static Daemon start(String extraConfig) {
        return start(extraConfig, "", hostNetns -> { });
    }

    /**
     * As {@link #start(String)}, with {@code extraNetworkYaml} (keys of the {@code network:}
     * section, unindented, e.g. {@code "addressing: dhcp\nbridge: lan0"}) added to that section,
     * and {@code prepareHostNetns} run with the name of the throwaway host netns before the daemon
     * starts (to put a bridge or a DHCP server there).
     */
    public static Daemon start(String extraConfig, String extraNetworkYaml, java.util.function.Consumer<String> prepareHostNetns) {
        String dist = System.getProperty("pvecri.dist");
        if (dist == null || dist.isBlank()) {
            throw new IllegalStateException("system property pvecri.dist is not set (failsafe sets it)");
        }
        Daemon daemon;
        try {
            daemon = new Daemon(Path.of(dist), extraConfig, extraNetworkYaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            prepareHostNetns.accept(daemon.hostNetns);
            daemon.launch();
        } catch (RuntimeException | Error e) {
            daemon.printLog();
            daemon.close();
            throw e;
        }
        return daemon;
    }

    /**
     * As {@link #start(String)}, with the image store ({@code state/images}) on a tmpfs of
     * {@code bytes}, mounted before the daemon starts and unmounted by {@link #close()} after it
     * stopped: a filesystem whose usage the test controls, for image garbage collection.
     */
    public static Daemon startWithImageFs(String extraConfig, long bytes) {
        String dist = System.getProperty("pvecri.dist");
        if (dist == null || dist.isBlank()) {
            throw new IllegalStateException("system property pvecri.dist is not set (failsafe sets it)");
        }
        Daemon daemon;
        try {
            daemon = new Daemon(Path.of(dist), extraConfig, "");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Path images = daemon.stateDir.resolve("images");
            Files.createDirectories(images);
            Host.run("mount", "-t", "tmpfs", "-o", "size=" + bytes + ",mode=0700", "pvecri-e2e-images", images.toString())
                    .requireSuccess(List.of("mount", "tmpfs", images.toString()));
            daemon.testMounts.add(images);
            daemon.launch();
        } catch (IOException e) {
            daemon.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException | Error e) {
            daemon.printLog();
            daemon.close();
            throw e;
        }
        return daemon;
    }

    // ---- accessors ------------------------------------------------------------------------

    public Path root() {
        return root;
    }

    public Path socket() {
        return socket;
    }

    public Path stateDir() {
        return stateDir;
    }

    /** The lxcpath under which the daemon keeps one LXC container per CRI container. */
    public Path lxcPath() {
        return pve != null ? pve.lxcPath() : stateDir.resolve("lxc");
    }

    /**
     * The LXC name of a container: its id on the lxc backend, its CT's VMID on the proxmox backend
     * (read from the daemon's mapping, and remembered so it can still be checked after removal).
     */
    public String lxcName(String containerId) {
        if (pve == null) {
            return containerId;
        }
        Path record = stateDir.resolve("proxmox/containers").resolve(containerId);
        try {
            if (Files.exists(record)) {
                lxcNames.put(containerId, Files.readString(record).strip().split("\\s+")[0]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return lxcNames.getOrDefault(containerId, containerId);
    }

    /**
     * The LXC config the container runs with: its {@code config} file under the lxcpath plus every
     * file it names with {@code lxc.include} (where the proxmox backend keeps pve-cri's keys).
     */
    public String lxcConfig(String containerId) throws IOException {
        String config = Files.readString(lxcPath().resolve(lxcName(containerId)).resolve("config"));
        StringBuilder all = new StringBuilder(config);
        for (String line : config.lines().toList()) {
            if (line.startsWith("lxc.include")) {
                Path included = Path.of(line.substring(line.indexOf('=') + 1).strip());
                if (Files.isRegularFile(included)) {
                    all.append(Files.readString(included));
                }
            }
        }
        return all.toString();
    }

    /** The PVE node (the emulator, or a real node from the environment) on the proxmox backend. */
    public java.util.Optional<PveTarget> pve() {
        return java.util.Optional.ofNullable(pve);
    }

    /** Parent of the pod log directories made by {@link Pods}. */
    public Path logsRoot() {
        return root.resolve("logs");
    }

    public CriClient client() {
        if (client == null) {
            throw new IllegalStateException("the daemon is not running");
        }
        return client;
    }

    public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
        return client().runtime().withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    public ImageServiceGrpc.ImageServiceBlockingStub images() {
        return client().images().withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    public AdminServiceGrpc.AdminServiceBlockingStub admin() {
        return client().admin().withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** Everything the daemon has written to stderr so far (all runs). */
    public String log() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "<cannot read " + log + ": " + e + ">";
        }
    }

    /** Prints the tail of the daemon's stderr, for diagnosing a failure. */
    public void printLog() {
        List<String> lines = log().lines().toList();
        int from = Math.max(0, lines.size() - 300);
        System.err.println("===== pve-cri daemon stderr (" + log + ", last " + (lines.size() - from) + " of "
                + lines.size() + " lines) =====");
        lines.subList(from, lines.size()).forEach(System.err::println);
        System.err.println("===== end of daemon stderr =====");
    }

    /** The {@code host:port} the metrics endpoint is bound to, as the daemon wrote it. */
    public String metricsAddress() {
        Path file = stateDir.resolve("metrics.addr");
        return Wait.forValue("the daemon to write " + file, Duration.ofSeconds(10), () -> {
            try {
                return Files.exists(file) ? Files.readString(file).strip() : "";
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, s -> !s.isEmpty());
    }

    // ---- images -----------------------------------------------------------------------------

    /**
     * Imports the test busybox image (once per daemon; the image store lives in the state dir and
     * so survives restarts) and returns what the daemon reported.
     */
    public ImportedImage importBusybox() {
        if (busybox == null) {
            Path layout = root.resolve("busybox-oci");
            try {
                TestImages.busyboxLayout(layout, BUSYBOX_IMPORT_NAME);
            } catch (Exception e) {
                throw new IllegalStateException("cannot build the busybox test image", e);
            }
            ImportImageResponse response = admin().importImage(ImportImageRequest.newBuilder()
                    .setPath(layout.toString())
                    .setName(BUSYBOX_IMPORT_NAME)
                    .build());
            if (response.getImagesCount() != 1) {
                throw new AssertionError("importing busybox gave " + response.getImagesCount() + " images: " + response);
            }
            busybox = response.getImages(0);
        }
        return busybox;
    }

    // ---- process control --------------------------------------------------------------------

    private void launch() {
        ProcessBuilder builder = new ProcessBuilder(executable.toString(), "serve",
                "--config", config.toString(),
                "--socket", socket.toString(),
                "--state-dir", stateDir.toString(),
                "--metrics-listen", "127.0.0.1:0")
                .directory(root.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // The test JVM is the Java 25 the daemon needs; make the launcher use it too.
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        try {
            Files.writeString(log, "----- [e2e] starting daemon -----\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + executable, e);
        }
        client = CriClient.connect(socket);
        awaitReady();
        everReady = true;
    }

    private void awaitReady() {
        Wait.until("the daemon to answer Version on " + socket, READY_LIMIT, () -> {
            if (!process.isAlive()) {
                // An Error, not an exception: Wait retries on exceptions, and this will not get better.
                throw new AssertionError("daemon exited with " + process.exitValue() + " before it was ready");
            }
            try {
                client.runtime().withDeadlineAfter(1, TimeUnit.SECONDS).version(VersionRequest.getDefaultInstance());
                return true;
            } catch (StatusRuntimeException e) {
                return false;
            }
        });
        if (!process.isAlive()) {
            throw new AssertionError("daemon exited with " + process.exitValue() + " before it was ready");
        }
    }

    /**
     * SIGKILLs the daemon, as a crash would. Only the daemon process goes (and its launcher, should
     * the launcher script not exec Java); containers must survive.
     */
    public void kill9() {
        closeClient();
        if (process == null) {
            return;
        }
        List<ProcessHandle> javaChildren = process.descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .toList();
        process.destroyForcibly();
        javaChildren.forEach(ProcessHandle::destroyForcibly);
        awaitExit(process.toHandle());
        javaChildren.forEach(Daemon::awaitExit);
    }

    /** Sends SIGTERM and waits for the daemon to exit; returns its exit status. */
    public int stopGracefully() {
        closeClient();
        if (process == null || !process.isAlive()) {
            return process == null ? 0 : process.exitValue();
        }
        process.destroy();
        try {
            if (!process.waitFor(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("daemon did not exit within " + STOP_LIMIT + " of SIGTERM");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return process.exitValue();
    }

    /** Starts the daemon again on the same socket, config and state dir (stopping it first if it runs). */
    public void restart() {
        if (isAlive()) {
            stopGracefully();
        }
        launch();
    }

    private static void awaitExit(ProcessHandle handle) {
        try {
            handle.onExit().get(STOP_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new AssertionError("process " + handle.pid() + " did not exit", e);
        }
    }

    private void closeClient() {
        if (client != null) {
            client.close();
            client = null;
        }
    }

    // ---- cleanup ------------------------------------------------------------------------------

    /**
     * Removes everything this daemon made: all pods through the RPCs (the daemon is started again
     * for that if a test left it stopped), then any LXC container left under the lxcpath, then
     * stops the daemon and deletes the temp dir. Never throws: what had to be cleaned up by force
     * is printed and listed in {@link #leftovers()}.
     */
    @Override
    public void close() {
        try {
            if (!isAlive() && everReady) {
                launch();
            }
            if (isAlive()) {
                removeAllPods();
            }
        } catch (RuntimeException | AssertionError e) {
            leftover("cleanup through the CRI failed: " + e);
        }
        if (pve != null) {
            try {
                pve.containerCts().forEach(ct -> leftover("PVE CT " + ct.vmid() + " (" + ct.name()
                        + ") outlived RemovePodSandbox of every pod; destroying it"));
            } catch (RuntimeException e) {
                leftover("cannot list the PVE CTs: " + e);
            }
        } else {
            for (String name : safeLxcContainers()) {
                leftover("LXC container " + name + " outlived RemovePodSandbox of every pod; destroying it");
                Host.destroyLxcContainer(lxcPath(), name);
            }
        }
        try {
            stopGracefully();
        } catch (RuntimeException | AssertionError e) {
            leftover("daemon did not stop on SIGTERM: " + e);
            if (process != null) {
                process.destroyForcibly();
            }
        }
        for (Path mount : testMounts) {
            Host.Result r = Host.run(Duration.ofSeconds(30), List.of("umount", mount.toString()));
            if (r.exitCode() != 0) {
                leftover("cannot unmount the test's " + mount + ": " + r.stderr().strip());
            }
        }
        for (Path mount : Host.mountsUnder(root)) {
            leftover("mount " + mount + " was left after all pods were removed and the daemon stopped; unmounting it");
            Host.run(Duration.ofSeconds(30), List.of("umount", "-l", mount.toString()));
        }
        if (pve != null) {
            try {
                pve.destroyAll(); // the image templates are expected to stay; everything else was reported above
            } catch (RuntimeException e) {
                leftover("cannot clean up the PVE CTs: " + e);
            }
            pve.close();
            for (Path mount : Host.mountsUnder(root)) {
                leftover("mount " + mount + " was left after the PVE emulator stopped; unmounting it");
                Host.run(Duration.ofSeconds(30), List.of("umount", "-l", mount.toString()));
            }
        }
        if (!leftovers.isEmpty()) {
            printLog();
        }
        deleteRoot();
        Host.run(Duration.ofSeconds(30), List.of("ip", "netns", "delete", hostNetns));
    }

    /** The name of the network namespace (under /run/netns) that plays the node's network for this daemon. */
    public String hostNetns() {
        return hostNetns;
    }

    /**
     * What {@link #close()} found left behind after removing every pod through the CRI and
     * stopping the daemon (LXC containers, mounts): daemon bugs, which the extension reports.
     */
    public List<String> leftovers() {
        return List.copyOf(leftovers);
    }

    private void leftover(String what) {
        System.err.println("[e2e] " + what);
        leftovers.add(what);
    }

    private void removeAllPods() {
        for (PodSandbox pod : runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
            try {
                runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.getId()).build());
                runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.getId()).build());
            } catch (StatusRuntimeException e) {
                leftover("could not stop and remove pod " + pod.getId() + ": " + e.getStatus());
            }
        }
    }

    private List<String> safeLxcContainers() {
        try {
            return Host.lxcContainers(lxcPath());
        } catch (RuntimeException | AssertionError e) {
            System.err.println("[e2e] cannot list LXC containers: " + e);
            return List.of();
        }
    }

    private void deleteRoot() {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    System.err.println("[e2e] cannot delete " + p + ": " + e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("[e2e] cannot delete " + root + ": " + e);
        }
    }
}
