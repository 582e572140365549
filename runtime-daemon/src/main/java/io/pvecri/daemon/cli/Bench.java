package io.pvecri.daemon.cli;

import io.pvecri.daemon.client.CriClient;
import io.pvecri.proto.admin.v1.DaemonInfoRequest;
import io.pvecri.proto.cri.v1.ContainerConfig;
import io.pvecri.proto.cri.v1.ContainerMetadata;
import io.pvecri.proto.cri.v1.CreateContainerRequest;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.PodSandboxConfig;
import io.pvecri.proto.cri.v1.PodSandboxMetadata;
import io.pvecri.proto.cri.v1.RemovePodSandboxRequest;
import io.pvecri.proto.cri.v1.RunPodSandboxRequest;
import io.pvecri.proto.cri.v1.StartContainerRequest;
import io.pvecri.proto.cri.v1.StopPodSandboxRequest;
import io.pvecri.proto.cri.v1.VersionRequest;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * {@code pve-cri bench}: measurements for docs/benchmarks.md against a running daemon.
 * {@code startup} times a fresh daemon from exec to its first answered RPC; {@code lifecycle}
 * runs N pods with one sleeping container each, timing RunPodSandbox, CreateContainer and
 * StartContainer, and reads the daemon's RSS idle and with the N pods running. Everything it
 * creates is removed at the end. Loops are bounded by the counts given.
 */
final class Bench {
    private Bench() {}

    static int lifecycle(Path socket, String image, int pods, PrintStream out) throws IOException {
        try (CriClient c = CriClient.connect(socket)) {
            long pid = c.admin().daemonInfo(DaemonInfoRequest.getDefaultInstance()).getPid();
            long rssIdle = rssKiB(pid);
            long[] run = new long[pods], create = new long[pods], start = new long[pods];
            List<String> created = new ArrayList<>();
            String tag = UUID.randomUUID().toString().substring(0, 8);
            try {
                for (int i = 0; i < pods; i++) {
                    long t0 = System.nanoTime();
                    String pod = c.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(PodSandboxConfig.newBuilder()
                            .setMetadata(PodSandboxMetadata.newBuilder().setName("bench-" + i).setNamespace("bench-" + tag)
                                    .setUid(UUID.randomUUID().toString()))).build()).getPodSandboxId();
                    long t1 = System.nanoTime();
                    created.add(pod);
                    PodSandboxConfig podCfg = PodSandboxConfig.newBuilder().setMetadata(PodSandboxMetadata.newBuilder()
                            .setName("bench-" + i).setNamespace("bench-" + tag).setUid("u")).build();
                    String ctr = c.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(pod)
                            .setSandboxConfig(podCfg).setConfig(ContainerConfig.newBuilder()
                                    .setMetadata(ContainerMetadata.newBuilder().setName("sleep"))
                                    .setImage(ImageSpec.newBuilder().setImage(image))
                                    .addAllCommand(List.of("sleep", "3600"))).build()).getContainerId();
                    long t2 = System.nanoTime();
                    c.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(ctr).build());
                    long t3 = System.nanoTime();
                    run[i] = t1 - t0;
                    create[i] = t2 - t1;
                    start[i] = t3 - t2;
                }
                Thread.sleep(2000); // let the containers settle before reading memory
                long rssPods = rssKiB(pid);
                out.printf("pods=%d image=%s%n", pods, image);
                out.printf("RunPodSandbox   median %.1f ms  p90 %.1f ms%n", median(run), p90(run));
                out.printf("CreateContainer median %.1f ms  p90 %.1f ms%n", median(create), p90(create));
                out.printf("StartContainer  median %.1f ms  p90 %.1f ms%n", median(start), p90(start));
                out.printf("daemon RSS idle %d KiB, with %d running pods %d KiB%n", rssIdle, pods, rssPods);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                for (String pod : created) {
                    c.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                    c.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
                }
            }
            return 0;
        }
    }

    /** Starts {@code runs} fresh daemons one after another, each timed from exec to its first Version answer. */
    static int startup(Path launcher, int runs, Path config, PrintStream out) throws IOException, InterruptedException {
        long[] ms = new long[runs];
        for (int i = 0; i < runs; i++) {
            Path dir = Files.createTempDirectory("pvecri-bench");
            Path sock = dir.resolve("s.sock");
            long t0 = System.nanoTime();
            List<String> argv = new ArrayList<>(List.of(launcher.toString(), "serve", "--socket", sock.toString(), "--state-dir",
                    dir.resolve("state").toString(), "--metrics-listen", ""));
            if (config != null) {
                argv.addAll(List.of("--config", config.toString()));
            }
            Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("log").toFile()).start();
            try (CriClient c = CriClient.connect(sock)) {
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (true) {
                    try {
                        c.runtime().withDeadlineAfter(1, java.util.concurrent.TimeUnit.SECONDS).version(VersionRequest.getDefaultInstance());
                        break;
                    } catch (RuntimeException e) {
                        if (System.nanoTime() > deadline || !p.isAlive()) {
                            throw new IOException("daemon did not answer; see " + dir.resolve("log"), e);
                        }
                        Thread.sleep(10);
                    }
                }
                ms[i] = (System.nanoTime() - t0);
            } finally {
                p.destroy();
                p.waitFor();
                io.pvecri.daemon.util.FileTrees.delete(dir);
            }
        }
        out.printf("daemon start to first answered RPC: median %.0f ms over %d runs (min %.0f, max %.0f)%n",
                median(ms), runs, Arrays.stream(ms).min().orElse(0) / 1e6, Arrays.stream(ms).max().orElse(0) / 1e6);
        return 0;
    }

    /**
     * Times what CreateContainer and RemoveContainer spend on the root file system, per format,
     * without a daemon: {@code count} times {@code prepare} then {@code release} of a container
     * rootfs for the same image tree, after one cold round that also builds the image's artefact
     * (ZFS dataset + snapshot, ext4 file). For raw it also times rounds while another container
     * holds the image mounted (no mount/unmount per round). Everything made is removed at the end.
     *
     * @param tree    an unpacked image tree (e.g. {@code <stateDir>/images/<hex>/rootfs})
     * @param dataset the ZFS dataset to work below (zfs only)
     */
    static int rootfs(String format, int count, Path tree, String dataset, PrintStream out) throws Exception {
        if (!Files.isDirectory(tree)) {
            throw new IOException("--tree " + tree + " is not a directory (give an unpacked image tree)");
        }
        Path work = Files.createTempDirectory(Path.of("/tmp"), "pvecri-bench-rootfs-");
        String image = "sha256:" + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(tree.toAbsolutePath().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        Path containers = Files.createDirectories(work.resolve("containers"));
        io.pvecri.daemon.rootfs.RootfsFormat f = switch (format) {
            case "dir" -> new io.pvecri.daemon.rootfs.DirFormat(containers, io.pvecri.daemon.rootfs.RootfsFormat.Observer.NONE);
            case "raw" -> new io.pvecri.daemon.rootfs.RawFormat(work.resolve("raw"), containers, 10,
                    io.pvecri.daemon.rootfs.RootfsFormat.Observer.NONE);
            case "zfs" -> {
                if (dataset == null) {
                    throw new IOException("--dataset POOL/NAME is needed for the zfs format");
                }
                yield io.pvecri.daemon.rootfs.ZfsFormat.open(dataset, work.resolve("zfs"), io.pvecri.daemon.rootfs.RootfsFormat.Observer.NONE);
            }
            default -> throw new IOException("--format must be dir, zfs or raw");
        };
        try {
            io.pvecri.daemon.util.FileTrees.Usage size = io.pvecri.daemon.util.FileTrees.usage(tree);
            out.printf("format=%s tree=%s (%.1f MiB, %d inodes) rounds=%d%n", format, tree, size.bytes() / 1048576.0, size.inodes(), count);
            long c0 = System.nanoTime();
            f.prepare(benchId(0), image, tree);
            long c1 = System.nanoTime();
            f.release(benchId(0));
            long c2 = System.nanoTime();
            out.printf("cold (builds the image artefact): prepare %.1f ms, release %.1f ms%n", (c1 - c0) / 1e6, (c2 - c1) / 1e6);
            rounds(f, image, tree, count, 1, "warm", out);
            if (format.equals("raw")) {
                f.prepare(benchId(999), image, tree); // holds the image mounted
                try {
                    rounds(f, image, tree, count, 1000, "warm, image already mounted by another container", out);
                } finally {
                    f.release(benchId(999));
                }
            }
        } finally {
            f.imageRemoved(image);
            f.recover(java.util.Map.of(), java.util.Map.of());
            io.pvecri.daemon.util.FileTrees.delete(work);
        }
        return 0;
    }

    private static void rounds(io.pvecri.daemon.rootfs.RootfsFormat f, String image, Path tree, int count, int base,
                               String label, PrintStream out) throws Exception {
        long[] prepare = new long[count], release = new long[count], total = new long[count];
        for (int i = 0; i < count; i++) {
            long t0 = System.nanoTime();
            f.prepare(benchId(base + i), image, tree);
            long t1 = System.nanoTime();
            f.release(benchId(base + i));
            long t2 = System.nanoTime();
            prepare[i] = t1 - t0;
            release[i] = t2 - t1;
            total[i] = t2 - t0;
        }
        out.printf("%s: prepare median %.1f ms p90 %.1f ms | release median %.1f ms p90 %.1f ms | prepare+release median %.1f ms p90 %.1f ms%n",
                label, median(prepare), p90(prepare), median(release), p90(release), median(total), p90(total));
    }

    private static String benchId(int n) {
        return String.format("%064x", n + 1);
    }

    static long rssKiB(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    /**
     * {@code pve-cri bench seccomp}: {@code count} compilations of one Localhost profile (read,
     * parse, compile, as CreateContainer does), after as many warm-up rounds.
     */
    static int seccomp(Path profile, int count, PrintStream out) throws Exception {
        java.util.Set<String> caps = java.util.Set.of("CAP_CHOWN", "CAP_SETUID", "CAP_SETGID", "CAP_KILL");
        io.pvecri.daemon.seccomp.CompiledFilter f = io.pvecri.daemon.seccomp.LocalhostProfile.compile(profile, caps);
        for (int i = 0; i < count; i++) {
            io.pvecri.daemon.seccomp.LocalhostProfile.compile(profile, caps);
        }
        long[] nanos = new long[count];
        for (int i = 0; i < count; i++) {
            long t0 = System.nanoTime();
            io.pvecri.daemon.seccomp.LocalhostProfile.compile(profile, caps);
            nanos[i] = System.nanoTime() - t0;
        }
        out.printf(java.util.Locale.ROOT, "seccomp profile %s (%d bytes): %d BPF instructions, %d names skipped%n",
                profile, Files.size(profile), f.instructions(), f.skippedNames().size());
        out.printf(java.util.Locale.ROOT, "compile x%d: median %.3f ms, p90 %.3f ms%n", count, median(nanos), p90(nanos));
        return 0;
    }

    static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s.length == 0 ? 0 : (s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0) / 1e6;
    }

    static double p90(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s.length == 0 ? 0 : s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.9) - 1)] / 1e6;
    }
}
