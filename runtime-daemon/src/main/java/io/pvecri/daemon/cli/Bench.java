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

    static long rssKiB(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
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
