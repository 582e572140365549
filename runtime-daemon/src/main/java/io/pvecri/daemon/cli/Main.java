package io.pvecri.daemon.cli;

import io.grpc.StatusRuntimeException;
import io.pvecri.daemon.Daemon;
import io.pvecri.daemon.Version;
import io.pvecri.daemon.client.CriClient;
import io.pvecri.daemon.config.ConfigException;
import io.pvecri.daemon.config.ConfigLoader;
import io.pvecri.daemon.config.DaemonConfig;
import io.pvecri.daemon.util.Log;
import io.pvecri.proto.admin.v1.CollectImageGarbageRequest;
import io.pvecri.proto.admin.v1.CollectImageGarbageResponse;
import io.pvecri.proto.admin.v1.CollectedImage;
import io.pvecri.proto.admin.v1.ImportImageRequest;
import io.pvecri.proto.admin.v1.ImportImageResponse;
import io.pvecri.proto.admin.v1.ImportedImage;
import io.pvecri.proto.cri.v1.Image;
import io.pvecri.proto.cri.v1.ListImagesRequest;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** The {@code pve-cri} command line. */
public final class Main {
    private static final String USAGE = """
            Usage: pve-cri COMMAND [FLAGS]

            Commands:
              serve                      run the CRI daemon
                  --config FILE          YAML config (default /etc/pve-cri/config.yaml if present)
                  --socket PATH          CRI unix socket (overrides the config's socket)
                  --state-dir DIR        state directory (overrides stateDir)
                  --metrics-listen H:P   /metrics and /healthz address, "" disables (overrides metrics.listen)
              images import FILE|DIR     import an OCI layout dir, OCI archive or docker-archive tar
                  --name NAME:TAG        name to give the image (added to the names it carries)
                  --socket PATH          daemon socket (default /run/pve-cri/pve-cri.sock)
              images list                list images known to the daemon
                  --socket PATH
              emulate-pve                run a Proxmox VE API emulator (real LXC underneath) to try the proxmox
                                         backend without a PVE node; prints url=, node=, fingerprint=, token=
                                         and writes DIR/pve-cri.yaml for `pve-cri serve --config`
                  --listen 127.0.0.1:PORT  loopback address to serve the API on (default 127.0.0.1:8006)
                  --state-dir DIR        the emulated node's files (/etc/pve, /var/lib/lxc, storages)
              images gc                  run image garbage collection now; prints each removed image
                                         (id, tags, bytes) and the total reclaimed
                  --target-percent N     free down to N % usage of the image filesystem
                                         (default: images.gc.lowThresholdPercent; 0 removes every
                                         image no container uses)
                  --dry-run              only print what would be removed
                  --socket PATH
              gpus                       list the GPUs (from NVML) and, when a daemon answers, its allocations
                  --nvml-library PATH    this libnvidia-ml.so.1 (default: searched as the daemon does)
                  --socket PATH          daemon socket (default /run/pve-cri/pve-cri.sock)
              bench startup [--runs N] [--config FILE]
                                         time fresh daemons from exec to their first answered RPC
              bench lifecycle            run N pods against a running daemon; RPC medians and daemon RSS
                  --socket PATH --image IMAGE [--pods N]
              bench rootfs               time container rootfs prepare+release per storage format (no daemon)
                  --format dir|zfs|raw --tree UNPACKED_IMAGE_DIR [--count N] [--dataset POOL/NAME (zfs)]
              bench seccomp              time compiling a Localhost seccomp profile (what CreateContainer adds)
                  --profile FILE [--count N]
              version                    print the version
              help                       this text

            Docs: docs/ in the source tree (configuration.md, operations.md, shim.md).
            """;
    private static final String DEFAULT_SOCKET = "/run/pve-cri/pve-cri.sock";

    private Main() {}

    public static void main(String[] argv) {
        System.exit(run(Arrays.asList(argv), System.out, System.err));
    }

    static int run(List<String> argv, PrintStream out, PrintStream err) {
        if (argv.isEmpty() || argv.getFirst().equals("help") || argv.getFirst().equals("--help") || argv.getFirst().equals("-h")) {
            out.print(USAGE);
            return argv.isEmpty() ? 2 : 0;
        }
        try {
            return switch (argv.getFirst()) {
                case "serve" -> serve(Args.parse(argv.subList(1, argv.size()), Set.of("config", "socket", "state-dir", "metrics-listen")), out, err);
                case "images" -> images(argv.subList(1, argv.size()), out, err);
                case "bench" -> bench(argv.subList(1, argv.size()), out, err);
                case "emulate-pve" -> emulatePve(Args.parse(argv.subList(1, argv.size()), Set.of("listen", "state-dir")), out, err);
                case "gpus" -> gpus(Args.parse(argv.subList(1, argv.size()), Set.of("nvml-library", "socket")), out, err);
                case "version", "--version" -> {
                    out.println("pve-cri " + Version.VERSION);
                    yield 0;
                }
                default -> throw new Args.UsageException("unknown command '" + argv.getFirst() + "'");
            };
        } catch (Args.UsageException e) {
            err.println("pve-cri: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
    }

    private static int emulatePve(Args a, PrintStream out, PrintStream err) throws Args.UsageException {
        if (a.help) {
            out.print(USAGE);
            return 0;
        }
        Log.configure("info");
        try {
            return EmulatePve.run(a, out, err);
        } catch (java.io.IOException | RuntimeException e) {
            err.println("pve-cri: emulate-pve: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private static int serve(Args a, PrintStream out, PrintStream err) {
        if (a.help) {
            out.print(USAGE);
            return 0;
        }
        DaemonConfig cfg;
        try {
            cfg = ConfigLoader.load(a.flags.containsKey("config") ? Path.of(a.flags.get("config")) : null,
                    new ConfigLoader.Overrides(path(a, "socket"), path(a, "state-dir"), a.flags.get("metrics-listen")));
        } catch (ConfigException e) {
            err.println("pve-cri: configuration error: " + e.getMessage());
            return 2;
        }
        Log.configure(cfg.logLevel());
        try {
            Daemon.serve(cfg, shimBinary());
            return 0;
        } catch (ConfigException e) {
            // Settings that parse but that this host cannot honour (checked at start: storage).
            err.println("pve-cri: configuration error: " + e.getMessage());
            Log.get(Main.class).warn("daemon.config_rejected", "error", e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("pve-cri: cannot serve: " + e.getMessage());
            Log.get(Main.class).error("daemon.failed", e);
            return 1;
        }
    }

    private static Path path(Args a, String flag) {
        return a.flags.containsKey(flag) ? Path.of(a.flags.get(flag)).toAbsolutePath() : null;
    }

    /** The shim ships beside the daemon's jars: {@code <home>/lib/pve-cri-init}. */
    static Path shimBinary() {
        String home = System.getProperty("pvecri.home");
        if (home != null) {
            return Path.of(home, "lib", "pve-cri-init");
        }
        try {
            Path jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.getParent().resolve("pve-cri-init");
        } catch (Exception e) {
            return Path.of("/usr/lib/pve-cri/lib/pve-cri-init");
        }
    }

    private static int bench(List<String> argv, PrintStream out, PrintStream err) throws Args.UsageException {
        if (argv.isEmpty()) {
            throw new Args.UsageException("bench needs a subcommand: startup, lifecycle, rootfs or seccomp");
        }
        Args a = Args.parse(argv.subList(1, argv.size()), Set.of("socket", "image", "pods", "runs", "config", "format", "tree", "count", "dataset", "profile"));
        try {
            return switch (argv.getFirst()) {
                case "startup" -> Bench.startup(Path.of(System.getProperty("pvecri.home", "."), "bin", "pve-cri"),
                        Integer.parseInt(a.flags.getOrDefault("runs", "5")),
                        a.flags.containsKey("config") ? Path.of(a.flags.get("config")) : null, out);
                case "lifecycle" -> Bench.lifecycle(Path.of(a.flags.getOrDefault("socket", DEFAULT_SOCKET)),
                        a.flags.getOrDefault("image", "busybox:latest"), Integer.parseInt(a.flags.getOrDefault("pods", "20")), out);
                case "rootfs" -> {
                    Log.configure("warn");
                    if (!a.flags.containsKey("tree")) {
                        throw new Args.UsageException("bench rootfs needs --tree DIR (an unpacked image tree)");
                    }
                    yield Bench.rootfs(a.flags.getOrDefault("format", "dir"), Integer.parseInt(a.flags.getOrDefault("count", "20")),
                            Path.of(a.flags.get("tree")), a.flags.get("dataset"), out);
                }
                case "seccomp" -> {
                    if (!a.flags.containsKey("profile")) {
                        throw new Args.UsageException("bench seccomp needs --profile FILE (a seccomp profile JSON file)");
                    }
                    yield Bench.seccomp(Path.of(a.flags.get("profile")).toAbsolutePath().normalize(),
                            Integer.parseInt(a.flags.getOrDefault("count", "1000")), out);
                }
                default -> throw new Args.UsageException("unknown bench subcommand '" + argv.getFirst() + "'");
            };
        } catch (Exception e) {
            if (e instanceof Args.UsageException u) {
                throw u;
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                return 1;
            }
            err.println("pve-cri: bench failed: " + e.getMessage());
            return 1;
        }
    }

    /** {@code pve-cri gpus}: NVML's view of the GPUs, and the daemon's allocations when it answers. */
    private static int gpus(Args a, PrintStream out, PrintStream err) throws Args.UsageException {
        if (a.help) {
            out.print(USAGE);
            return 0;
        }
        if (!a.positional.isEmpty()) {
            throw new Args.UsageException("gpus takes no arguments");
        }
        Log.configure("warn");
        io.pvecri.gpu.GpuConfig config = io.pvecri.gpu.GpuConfig.defaults(Path.of("/nonexistent"));
        if (a.flags.containsKey("nvml-library")) {
            config = config.withLibraryPath(Path.of(a.flags.get("nvml-library")).toAbsolutePath());
        }
        List<io.pvecri.daemon.gpu.GpuTable.Device> devices;
        java.util.Optional<String> absent;
        try (io.pvecri.gpu.Nvml nvml = io.pvecri.gpu.Nvml.load(config)) {
            devices = io.pvecri.daemon.gpu.GpuTable.read(nvml);
            absent = nvml.absentReason();
        } catch (io.pvecri.gpu.NvmlException e) {
            err.println("pve-cri: NVML: " + e.getMessage());
            return 1;
        }
        Path socket = Path.of(a.flags.getOrDefault("socket", DEFAULT_SOCKET));
        java.util.Optional<io.pvecri.proto.admin.v1.ListGpuAllocationsResponse> daemon = java.util.Optional.empty();
        String problem = "no daemon socket at " + socket;
        if (java.nio.file.Files.exists(socket)) {
            try (CriClient client = CriClient.connect(socket)) {
                daemon = java.util.Optional.of(client.admin().withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
                        .listGpuAllocations(io.pvecri.proto.admin.v1.ListGpuAllocationsRequest.getDefaultInstance()));
            } catch (StatusRuntimeException e) {
                problem = "the daemon on " + socket + " did not answer: " + e.getStatus().getCode() + " " + e.getStatus().getDescription();
            }
        }
        io.pvecri.daemon.gpu.GpuTable.print(devices, absent, daemon, problem, out);
        return 0;
    }

    private static int images(List<String> argv, PrintStream out, PrintStream err) throws Args.UsageException {
        if (argv.isEmpty()) {
            throw new Args.UsageException("images needs a subcommand: import, list or gc");
        }
        Args a = Args.parse(argv.subList(1, argv.size()), Set.of("socket", "name", "target-percent"), Set.of("dry-run"));
        Path socket = Path.of(a.flags.getOrDefault("socket", DEFAULT_SOCKET));
        try (CriClient client = CriClient.connect(socket)) {
            switch (argv.getFirst()) {
                case "import" -> {
                    if (a.positional.size() != 1) {
                        throw new Args.UsageException("images import takes exactly one FILE|DIR");
                    }
                    ImportImageResponse r = client.admin().importImage(ImportImageRequest.newBuilder()
                            .setPath(Path.of(a.positional.getFirst()).toAbsolutePath().toString())
                            .setName(a.flags.getOrDefault("name", "")).build());
                    for (ImportedImage i : r.getImagesList()) {
                        out.println(i.getId() + "\t" + String.join(",", i.getRepoTagsList()) + "\t" + i.getSize());
                    }
                }
                case "list" -> {
                    for (Image i : client.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList()) {
                        out.println(i.getId() + "\t" + String.join(",", i.getRepoTagsList()) + "\t" + i.getSize());
                    }
                }
                case "gc" -> {
                    if (!a.positional.isEmpty()) {
                        throw new Args.UsageException("images gc takes no arguments");
                    }
                    CollectImageGarbageRequest.Builder req = CollectImageGarbageRequest.newBuilder()
                            .setDryRun(a.switches.contains("dry-run"));
                    if (a.flags.containsKey("target-percent")) {
                        try {
                            req.setTargetUsagePercent(Integer.parseInt(a.flags.get("target-percent")));
                        } catch (NumberFormatException e) {
                            throw new Args.UsageException("--target-percent must be a whole number 0..100");
                        }
                    }
                    CollectImageGarbageResponse r = client.admin().withDeadlineAfter(10, java.util.concurrent.TimeUnit.MINUTES)
                            .collectImageGarbage(req.build());
                    printGc(r, out);
                    if (r.getErrorsCount() > 0) {
                        return 1;
                    }
                }
                default -> throw new Args.UsageException("unknown images subcommand '" + argv.getFirst() + "'");
            }
            return 0;
        } catch (StatusRuntimeException e) {
            err.println("pve-cri: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription());
            return 1;
        }
    }

    /** One line per removed image ({@code id<TAB>tags<TAB>bytes}), then a summary line. */
    static void printGc(CollectImageGarbageResponse r, PrintStream out) {
        for (CollectedImage i : r.getRemovedList()) {
            out.println(i.getId() + "\t" + (i.getRepoTagsCount() == 0 ? "<none>" : String.join(",", i.getRepoTagsList()))
                    + "\t" + i.getReclaimedBytes());
        }
        out.println(String.format(java.util.Locale.ROOT, "%s %d image(s), %s %d bytes in %d ms; image filesystem %.1f%% -> %.1f%% used (target %d%%)",
                r.getDryRun() ? "would remove" : "removed", r.getRemovedCount(),
                r.getDryRun() ? "reclaiming about" : "reclaimed", r.getReclaimedBytes(), r.getDurationMillis(),
                r.getUsagePercentBefore(), r.getUsagePercentAfter(), r.getTargetUsagePercent()));
        for (String e : r.getErrorsList()) {
            out.println("error: " + e);
        }
    }
}
