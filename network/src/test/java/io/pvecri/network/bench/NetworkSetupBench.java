package io.pvecri.network.bench;

import io.pvecri.network.NetworkConfig;
import io.pvecri.network.NetworkException;
import io.pvecri.network.NetworkStatus;
import io.pvecri.network.PodNetworkRequest;
import io.pvecri.network.PodNetworks;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Network setup time per pod: {@code runs} setUp/tearDown cycles (after a few untimed warm-up
 * cycles) per mode, each pod in a fresh network namespace made outside the timed part, all of it
 * inside a throwaway "host" netns (as the tests do). Prints median and p90 of setUp and tearDown.
 * Not a test (surefire does not pick it up); run as root, see docs/benchmarks.md:
 *
 * <pre>
 * java -cp network/target/classes:network/target/test-classes:$(cat /tmp/network.cp) \
 *     io.pvecri.network.bench.NetworkSetupBench [--runs 50] [--modes bridge,cni,dhcp]
 * </pre>
 *
 * Modes: {@code bridge} (built-in, static addressing), {@code cni} (Debian's bridge + host-local +
 * portmap from /usr/lib/cni), {@code dhcp} (built-in bridge mode with DHCP addressing against
 * dnsmasq on a bridge in the throwaway host netns). Pods have no hostPort.
 */
public final class NetworkSetupBench {
    private static final Duration LIMIT = Duration.ofSeconds(30);
    private static final int WARMUP = 5;

    private final String prefix = "pvecri-bench-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    private final List<String> namespaces = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final Path work;

    private NetworkSetupBench() throws IOException {
        work = Files.createTempDirectory("pvecri-bench-");
    }

    public static void main(String[] args) throws Exception {
        int runs = 50;
        List<String> modes = List.of("bridge", "cni", "dhcp");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--modes" -> modes = List.of(args[++i].split(","));
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--runs N, --modes bridge,cni,dhcp)");
            }
        }
        System.out.printf(Locale.ROOT, "| mode | runs | setUp median | setUp p90 | tearDown median | tearDown p90 |%n");
        System.out.printf(Locale.ROOT, "| --- | --- | --- | --- | --- | --- |%n");
        for (String mode : modes) {
            NetworkSetupBench b = new NetworkSetupBench();
            try {
                b.run(mode, runs);
            } finally {
                b.cleanup();
            }
        }
    }

    private void run(String mode, int runs) throws Exception {
        Path host = netns("h");
        sh(List.of("ip", "-n", name(host), "link", "set", "lo", "up"));
        NetworkConfig.Builder cfg = NetworkConfig.builder().hostNetns(host).bridge("pvcbench0").cidr("10.88.0.0/16")
                .dns(new NetworkConfig.DnsDefaults(List.of("192.0.2.53"), List.of(), List.of(), null));
        switch (mode) {
            case "bridge" -> { }
            case "cni" -> {
                Path confDir = work.resolve("net.d");
                Files.createDirectories(confDir);
                Files.writeString(confDir.resolve("10-bench.conflist"), """
                        {
                          "cniVersion": "1.0.0",
                          "name": "pvecri-bench",
                          "plugins": [
                            {"type": "bridge", "bridge": "cnibench0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
                             "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.99.0.0/16"}]],
                                      "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "%s"}},
                            {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}
                          ]
                        }
                        """.formatted(work.resolve("cni-ipam")));
                cfg.mode(NetworkConfig.Mode.CNI).cni(new NetworkConfig.CniSettings(confDir, List.of(Path.of("/usr/lib/cni"))));
            }
            case "dhcp" -> {
                String lan = "lanbench0";
                sh(List.of("ip", "-n", name(host), "link", "add", lan, "address", "02:00:00:77:00:01", "type", "bridge"));
                sh(List.of("ip", "-n", name(host), "addr", "add", "192.168.77.1/24", "dev", lan));
                sh(List.of("ip", "-n", name(host), "link", "set", lan, "up"));
                Path log = work.resolve("dnsmasq.log");
                processes.add(new ProcessBuilder("nsenter", "--net=" + host, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                        "--interface=" + lan, "--bind-interfaces", "--except-interface=lo", "--port=0", "--no-ping",
                        "--pid-file=" + work.resolve("dnsmasq.pid"), "--dhcp-leasefile=" + work.resolve("dnsmasq.leases"),
                        "--dhcp-range=192.168.77.10,192.168.77.250,255.255.255.0,2m",
                        "--dhcp-option=option:router,192.168.77.1", "--dhcp-option=option:dns-server,192.168.77.53")
                        .redirectErrorStream(true).redirectOutput(log.toFile()).redirectInput(new File("/dev/null")).start());
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (!(Files.exists(log) && Files.readString(log).contains("DHCP, sockets bound"))) {
                    if (System.nanoTime() > deadline) {
                        throw new IOException("dnsmasq did not start: " + Files.readString(log));
                    }
                    Thread.sleep(20);
                }
                cfg.addressing(NetworkConfig.Addressing.DHCP).bridge(lan)
                        .dhcp(new NetworkConfig.DhcpSettings(Duration.ofSeconds(10), 3));
            }
            default -> throw new IllegalArgumentException("mode " + mode + " is not bridge, cni or dhcp");
        }
        List<Double> up = new ArrayList<>();
        List<Double> down = new ArrayList<>();
        try (PodNetworks nets = PodNetworks.open(cfg.build(), work.resolve("state"))) {
            for (int i = 0; i < WARMUP + runs; i++) {
                Path pod = netns("p" + i);
                String id = HexFormat.of().formatHex(randomBytes());
                PodNetworkRequest req = new PodNetworkRequest(id, "bench-" + i, "default", "uid-" + i, Map.of(), Map.of(),
                        pod, List.of(), null, null);
                long t0 = System.nanoTime();
                NetworkStatus s = nets.setUp(req);
                long t1 = System.nanoTime();
                List<String> errors = nets.tearDown(id);
                long t2 = System.nanoTime();
                if (s.ip() == null || !errors.isEmpty()) {
                    throw new IllegalStateException("cycle " + i + ": " + s + " " + errors);
                }
                deleteNetns(pod);
                if (i >= WARMUP) {
                    up.add((t1 - t0) / 1e6);
                    down.add((t2 - t1) / 1e6);
                }
            }
        } catch (NetworkException e) {
            throw new IllegalStateException(mode + ": " + e.getMessage(), e);
        }
        System.out.printf(Locale.ROOT, "| %s | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |%n", mode, runs,
                percentile(up, 50), percentile(up, 90), percentile(down, 50), percentile(down, 90));
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[32];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    /** Nearest-rank percentile. */
    static double percentile(List<Double> values, int p) {
        List<Double> sorted = values.stream().sorted().toList();
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    private Path netns(String tag) throws IOException {
        String n = prefix + "-" + tag;
        sh(List.of("ip", "netns", "add", n));
        namespaces.add(n);
        return Path.of("/run/netns", n);
    }

    private static String name(Path netns) {
        return netns.getFileName().toString();
    }

    private void deleteNetns(Path ns) throws IOException {
        if (namespaces.remove(name(ns))) {
            sh(List.of("ip", "netns", "del", name(ns)));
        }
    }

    private void cleanup() throws IOException {
        // pods' DHCP clients run detached; after a failed cycle one may be left: those of this state dir go
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                try {
                    String cmd = Files.readString(p.resolve("cmdline")).replace('\0', ' ');
                    if (cmd.startsWith("busybox udhcpc ") && cmd.contains(work.toString())) {
                        ProcessHandle.of(Long.parseLong(p.getFileName().toString())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                } catch (IOException | NumberFormatException ignored) {
                    // not a process, or gone
                }
            }
        }
        for (Process p : processes) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (String n : namespaces.reversed()) {
            sh(List.of("ip", "netns", "del", n));
        }
        namespaces.clear();
        try (Stream<Path> s = Files.walk(work)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static void sh(List<String> argv) throws IOException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectInput(new File("/dev/null")).start();
        try {
            if (!p.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(argv + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(argv + " interrupted", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(argv + ": exit " + p.exitValue() + ": " + new String(p.getInputStream().readAllBytes()));
        }
    }
}
