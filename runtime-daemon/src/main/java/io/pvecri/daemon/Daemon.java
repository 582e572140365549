package io.pvecri.daemon;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pvecri.daemon.backend.ContainerBackend;
import io.pvecri.daemon.cgroup.CgroupHost;
import io.pvecri.daemon.config.DaemonConfig;
import io.pvecri.daemon.container.ContainerManager;
import io.pvecri.daemon.container.ContainerRecord;
import io.pvecri.daemon.container.ResourceControl;
import io.pvecri.daemon.gpu.GpuDevices;
import io.pvecri.daemon.gpu.GpuReport;
import io.pvecri.daemon.lxc.LxcBackend;
import io.pvecri.daemon.metrics.PveMetrics;
import io.pvecri.daemon.proxmox.ProxmoxWiring;
import io.pvecri.daemon.metrics.GpuMetrics;
import io.pvecri.daemon.metrics.ImageGcMetrics;
import io.pvecri.daemon.metrics.ImagePullMetrics;
import io.pvecri.daemon.metrics.MetricsServer;
import io.pvecri.daemon.metrics.NetworkMetrics;
import io.pvecri.network.PodNetworks;
import io.pvecri.daemon.metrics.RpcMetricsInterceptor;
import io.pvecri.daemon.metrics.RootfsMetrics;
import io.pvecri.daemon.rootfs.RootfsFormat;
import io.pvecri.daemon.rootfs.RootfsFormats;
import io.pvecri.daemon.pod.PodManager;
import io.pvecri.daemon.pod.PodNamespaces;
import io.pvecri.daemon.pod.SandboxRecord;
import io.pvecri.daemon.server.CriServices;
import io.pvecri.daemon.server.GrpcServer;
import io.pvecri.daemon.state.RecordStore;
import io.pvecri.daemon.streaming.LxcStreamingRuntime;
import io.pvecri.daemon.streaming.StreamingService;
import io.pvecri.daemon.util.AtomicFiles;
import io.pvecri.daemon.util.FileTrees;
import io.pvecri.daemon.util.Log;
import io.pvecri.image.DiskUsageSource;
import io.pvecri.image.ImageGc;
import io.pvecri.image.ImageStore;
import io.pvecri.image.RegistryPuller;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * The composition root: builds every part by hand from the config, recovers state, and serves
 * until SIGTERM. Nothing else constructs long-lived objects.
 */
public final class Daemon {
    private static final Log LOG = Log.get(Daemon.class);

    private Daemon() {}

    public static void serve(DaemonConfig cfg, Path shimBinary) throws Exception {
        long t0 = System.nanoTime();
        Instant startedAt = Instant.now();
        LOG.info("daemon.starting", "version", Version.VERSION, "backend", cfg.backend().name().toLowerCase(),
                "state_dir", cfg.stateDir(), "socket", cfg.socket());
        if (!Files.isExecutable(shimBinary)) {
            throw new IOException("the init shim " + shimBinary + " is missing or not executable; reinstall pve-cri");
        }
        Files.createDirectories(cfg.stateDir());
        FileLock lock = lockStateDir(cfg.stateDir());

        ImageStore images = ImageStore.open(cfg.imagesDir());
        CgroupHost cgroups = CgroupHost.detect();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ContainerBackend backend = switch (cfg.backend()) {
            case LXC -> {
                Files.createDirectories(cfg.lxc().path());
                yield new LxcBackend(cfg.lxc().path(), cfg.lxc().logLevel());
            }
            case PROXMOX -> ProxmoxWiring.backend(ProxmoxWiring.client(cfg.proxmox(), new PveMetrics(registry)),
                    cfg.proxmox(), cfg.stateDir().resolve("proxmox"));
        };
        PodNamespaces namespaces = new PodNamespaces(cfg.stateDir().resolve("ns"));
        namespaces.prepare();

        Path records = cfg.stateDir().resolve("records");
        RecordStore<SandboxRecord> podStore = new RecordStore<>(records.resolve("pods"), SandboxRecord.class, SandboxRecord::id);
        RecordStore<ContainerRecord> ctrStore = new RecordStore<>(records.resolve("containers"), ContainerRecord.class, ContainerRecord::id);
        podStore.load();
        ctrStore.load();

        RootfsFormat rootfs = RootfsFormats.open(cfg.storage(), cfg.stateDir(), cfg.containersDir(),
                new RootfsMetrics(registry), ctrStore.all().size());
        NetworkMetrics networkMetrics = new NetworkMetrics(registry);
        PodNetworks network = PodNetworks.open(cfg.network(), cfg.stateDir().resolve("network"), networkMetrics);
        networkMetrics.pollBridges(network);
        PodManager pods = new PodManager(podStore, namespaces, new io.pvecri.daemon.pod.PodFiles(cfg.podsDir()), network,
                Set.of(backend.name()));
        Files.createDirectories(cfg.containersDir());
        GpuDevices gpus = GpuDevices.open(cfg.gpu());
        ContainerManager containers = new ContainerManager(ctrStore, pods::byId, pods::files, namespaces, images, backend,
                cfg.containersDir(), shimBinary, cfg.runtime().defaultStopSignal(), cfg.runtime().execOutputLimitBytes(),
                new ResourceControl(cgroups), gpus, rootfs);
        pods.bind(new PodContainers(containers));
        gpus.bind(containers);

        recover(pods, containers, ctrStore, backend, images, cfg.containersDir(), rootfs);
        // What keeps per-image artefacts drops them when an image goes (RemoveImage or GC): the
        // rootfs format's dataset/ext4 file, the proxmox backend's CT template.
        images.addRemovalListener(image -> {
            try {
                rootfs.imageRemoved(image.id());
            } catch (io.pvecri.daemon.rootfs.RootfsException e) {
                // logged by the store; RootfsFormat.recover removes the leftover at the next start
                throw new IllegalStateException(rootfs.name() + " rootfs artefact of " + image.id() + " not removed: " + e.getMessage(), e);
            }
        });
        images.addRemovalListener(image -> backend.imageRemoved(image.id()));
        ImageGc imageGc = new ImageGc(images, cfg.images().gc(), DiskUsageSource.of(images.root()),
                new ImageGcMetrics(registry));
        imageGc.start(); // after recover(): reference counts are right
        LOG.info("image.gc_started", "high_percent", cfg.images().gc().highThresholdPercent(),
                "low_percent", cfg.images().gc().lowThresholdPercent(), "interval_s", cfg.images().gc().interval().toSeconds(),
                "threshold_enabled", cfg.images().gc().thresholdEnabled());
        gpus.start(ctrStore.all().stream().map(ContainerRecord::id).collect(java.util.stream.Collectors.toSet()));
        new GpuMetrics(registry, gpus.service()).poll(cfg.gpu().config().sampleInterval());

        registerStateGauges(registry, podStore, containers);
        StreamingService streaming = new StreamingService(cfg.streaming(),
                new LxcStreamingRuntime(containers, pods, backend, cfg.containersDir(), shimBinary), registry);
        streaming.start();
        RegistryPuller puller = new RegistryPuller(images, cfg.images().registryConfig(), new ImagePullMetrics(registry));
        GrpcServer grpc = new GrpcServer(cfg.socket(),
                CriServices.create(pods, containers, backend, images, imageGc, cfg.stateDir(), cfg.imagesDir(), cfg.containersDir(), startedAt,
                        streaming, puller, () -> GpuReport.of(gpus.service()), rootfs),
                new RpcMetricsInterceptor(registry));
        MetricsServer metrics = null;
        if (cfg.metrics().listen() != null) {
            String listen = cfg.metrics().listen();
            int colon = listen.lastIndexOf(':');
            String host = listen.substring(0, colon).replace("[", "").replace("]", "");
            metrics = new MetricsServer(host, Integer.parseInt(listen.substring(colon + 1)), registry, () -> backend.readinessProblems().isEmpty());
            AtomicFiles.write(cfg.stateDir().resolve("metrics.addr"), (metrics.address() + "\n").getBytes(StandardCharsets.UTF_8));
        }

        CountDownLatch stopped = new CountDownLatch(1);
        MetricsServer metricsRef = metrics;
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("shutdown").unstarted(() -> {
            LOG.info("daemon.stopping", "reason", "signal", "note", "containers keep running");
            grpc.shutdown(30);
            network.close();
            streaming.close();
            gpus.close();
            if (metricsRef != null) {
                metricsRef.close();
            }
            try {
                imageGc.close();
                images.close();
                lock.release();
            } catch (Exception e) {
                LOG.warn("daemon.stop_cleanup_failed", "error", e.getMessage());
            }
            LOG.info("daemon.stopped");
            stopped.countDown();
        }));
        LOG.info("daemon.ready", "ms", (System.nanoTime() - t0) / 1_000_000, "pods", podStore.all().size(),
                "containers", ctrStore.all().size(), "cgroups", new ResourceControl(cgroups).describeHost());
        grpc.awaitTermination();
        stopped.await();
    }

    private static FileLock lockStateDir(Path stateDir) throws IOException {
        FileChannel ch = FileChannel.open(stateDir.resolve("pve-cri.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = ch.tryLock();
        if (lock == null) {
            throw new IOException("another pve-cri daemon is using the state dir " + stateDir + "; stop it or use --state-dir");
        }
        return lock;
    }

    /**
     * Reconciles records with what really exists: pods whose namespaces vanished, containers that
     * exited or vanished while the daemon was down, backend containers and directories nobody
     * owns (orphans of a crash mid-create), and image reference counts.
     */
    private static void recover(PodManager pods, ContainerManager containers, RecordStore<ContainerRecord> ctrStore,
                                ContainerBackend backend, ImageStore images, Path containersDir, RootfsFormat rootfs) throws IOException {
        pods.reconcile();
        Set<String> inBackend = backend.list();
        containers.reconcile(inBackend);
        Set<String> known = new java.util.HashSet<>();
        ctrStore.all().forEach(r -> known.add(r.id()));
        for (String name : inBackend) {
            if (!known.contains(name)) {
                LOG.warn("recovery.orphan_container_destroyed", "id", name);
                backend.destroy(name);
            }
        }
        // Before orphan directories go: the format unmounts and destroys what orphans had.
        Map<String, String> containerImages = new HashMap<>();
        ctrStore.all().forEach(r -> containerImages.put(r.id(), r.imageId()));
        Map<String, Path> imageTrees = new HashMap<>();
        for (var image : images.list()) {
            try {
                imageTrees.put(image.id(), images.rootfs(image.id()));
            } catch (io.pvecri.image.ImageNotFoundException e) {
                // removed meanwhile
            }
        }
        try {
            rootfs.recover(containerImages, imageTrees);
        } catch (io.pvecri.daemon.rootfs.RootfsException e) {
            // The daemon still serves: what failed concerns some containers or images only
            // (they fail to start or to be removed with the same error until it is fixed).
            LOG.warn("recovery.rootfs_failed", "format", rootfs.name(), "error", e.getMessage());
        }
        try (var dirs = Files.list(containersDir)) {
            for (Path d : dirs.toList()) {
                if (!known.contains(d.getFileName().toString())) {
                    LOG.warn("recovery.orphan_directory_removed", "path", d);
                    FileTrees.delete(d);
                }
            }
        }
        Map<String, Integer> refs = new HashMap<>();
        ctrStore.all().forEach(r -> refs.merge(r.imageId(), 1, Integer::sum));
        images.reconcileReferences(refs);
    }

    private static void registerStateGauges(PrometheusMeterRegistry registry, RecordStore<SandboxRecord> pods, ContainerManager containers) {
        for (SandboxRecord.State s : SandboxRecord.State.values()) {
            Gauge.builder("pvecri.pods", pods, p -> p.all().stream().filter(r -> r.state() == s).count())
                    .description("pod sandboxes by state").tag("state", s.name().toLowerCase()).register(registry);
        }
        for (ContainerRecord.State s : ContainerRecord.State.values()) {
            Gauge.builder("pvecri.containers", containers, c -> c.list().stream().filter(r -> r.state() == s).count())
                    .description("containers by state").tag("state", s.name().toLowerCase()).register(registry);
        }
    }

    /** The container side of pod stop/remove. */
    private record PodContainers(ContainerManager containers) implements PodManager.Containers {
        @Override
        public void killAll(String sandboxId) {
            for (ContainerRecord r : containers.inSandbox(sandboxId)) {
                containers.stop(r.id(), 0);
            }
        }

        @Override
        public List<String> removeAll(String sandboxId) {
            List<String> errors = new ArrayList<>();
            for (ContainerRecord r : containers.inSandbox(sandboxId)) {
                try {
                    containers.remove(r.id());
                } catch (RuntimeException e) {
                    errors.add(e.getMessage());
                }
            }
            return errors;
        }
    }
}
