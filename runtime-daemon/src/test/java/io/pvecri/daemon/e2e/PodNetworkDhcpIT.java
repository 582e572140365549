package io.pvecri.daemon.e2e;

import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.StatusRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DHCP addressing through the CRI socket: the daemon's config says {@code network.addressing:
 * dhcp} on bridge {@code lan0}, a "LAN" bridge this test makes in the harness's throwaway host
 * netns, where Debian's dnsmasq serves DHCP (no DNS). Nothing leaves that namespace.
 */
class PodNetworkDhcpIT {
    private static final String LAN = "lan0";
    private static final Duration LIMIT = Duration.ofSeconds(20);

    private static Path work;
    private static Process dnsmasq;
    private static Daemon daemon;
    private static Pods pods;

    @BeforeAll
    static void startDaemonWithALan() throws IOException {
        work = Files.createTempDirectory(Path.of("/tmp"), "pce-dhcp-");
        try {
            daemon = Daemon.start("", """
                    addressing: dhcp
                    bridge: %s
                    dhcp:
                      timeout: 15s
                      retries: 3
                    """.formatted(LAN), PodNetworkDhcpIT::lanWithDhcpServer);
            daemon.importBusybox();
        } catch (RuntimeException | Error e) {
            stopAll();
            throw e;
        }
        pods = new Pods(daemon);
    }

    /** In the host netns: bridge lan0 (MAC set, as a real LAN bridge's is) with 192.168.77.1/24, and dnsmasq on it. */
    private static void lanWithDhcpServer(String hostNetns) {
        for (List<String> cmd : List.of(
                List.of("ip", "-n", hostNetns, "link", "add", LAN, "address", "02:00:00:77:00:01", "type", "bridge"),
                List.of("ip", "-n", hostNetns, "addr", "add", "192.168.77.1/24", "dev", LAN),
                List.of("ip", "-n", hostNetns, "link", "set", LAN, "up"))) {
            Host.run(Duration.ofSeconds(10), cmd).requireSuccess(cmd);
        }
        Path log = work.resolve("dnsmasq.log");
        try {
            Files.writeString(leases(), "");
            dnsmasq = new ProcessBuilder("ip", "netns", "exec", hostNetns, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                    "--interface=" + LAN, "--bind-interfaces", "--except-interface=lo", "--port=0", "--no-ping", "--log-dhcp",
                    "--pid-file=" + work.resolve("dnsmasq.pid"), "--dhcp-leasefile=" + leases(),
                    "--dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,2m",
                    "--dhcp-option=option:router,192.168.77.1", "--dhcp-option=option:dns-server,192.168.77.53",
                    "--dhcp-option=option:domain-name,lan.test")
                    .redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Wait.until("dnsmasq serves " + LAN, Duration.ofSeconds(10), () -> read(log).contains("DHCP, sockets bound"));
    }

    @AfterAll
    static void stopAll() {
        try {
            if (daemon != null) {
                daemon.close(); // removes every pod through the CRI: each releases its lease
                assertEquals(List.of(), daemon.leftovers());
                Wait.until("dnsmasq forgets every released lease", Duration.ofSeconds(10), () -> read(leases()).isBlank());
                assertEquals(List.of(), dhcpClients(""), "no DHCP client outlives its pod");
            }
        } finally {
            if (daemon != null) {
                dhcpClients("").forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
            }
            if (dnsmasq != null) {
                dnsmasq.destroyForcibly();
                try {
                    dnsmasq.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            deleteWork();
        }
    }

    private static Path leases() {
        return work.resolve("dnsmasq.leases");
    }

    private static String read(Path f) {
        try {
            return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Pids of the daemon's DHCP clients (busybox udhcpc with its event script), of one pod when {@code podId} is not empty. */
    private static List<Long> dhcpClients(String podId) {
        String script = daemon.stateDir().resolve("network/udhcpc.script").toString();
        List<Long> out = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String cmd;
                try {
                    cmd = Files.readString(p.resolve("cmdline")).replace('\0', ' ');
                } catch (IOException e) {
                    continue;
                }
                if (cmd.startsWith("busybox udhcpc ") && cmd.contains(script) && cmd.contains("/" + podId)) {
                    out.add(Long.parseLong(name));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static String running(Pod pod, String name, String script) {
        String id = pod.start(pods.shell(name, script));
        pods.awaitState(id, ContainerState.CONTAINER_RUNNING);
        return id;
    }

    private static boolean hostPings(String ip) {
        return Host.run(Duration.ofSeconds(10), List.of("ip", "netns", "exec", daemon.hostNetns(), "busybox", "ping", "-c", "1", "-W", "1", ip))
                .exitCode() == 0;
    }

    @Test
    void podGetsAddressGatewayAndDnsFromTheLan() {
        Pod pod = pods.run("dhcp-web");
        String ip = pod.status().getNetwork().getIp();
        assertTrue(ip.startsWith("192.168.77."), "an address from the LAN's DHCP range: " + ip);
        assertTrue(read(leases()).contains(" " + ip + " "), "dnsmasq handed it out: " + read(leases()));

        String c = running(pod, "app", "sleep 1000");
        assertTrue(pods.execOk(c, "cat", "/etc/resolv.conf").contains("nameserver 192.168.77.53"), "DNS from the lease");
        assertTrue(pods.execOk(c, "ip", "-4", "addr", "show", "eth0").contains("inet " + ip + "/24"));
        assertTrue(pods.execOk(c, "ip", "route").contains("default via 192.168.77.1"));
        assertTrue(Wait.forValue("the LAN reaches the pod", LIMIT, () -> hostPings(ip), ok -> ok));
        assertEquals(1, dhcpClients(pod.id()).size());

        pod.stop();
        Wait.until("the pod's lease is released", LIMIT, () -> !read(leases()).contains(" " + ip + " "));
        assertEquals(List.of(), dhcpClients(pod.id()));
    }

    @Test
    void statefulSetPodGetsTheSameAddressWhenCreatedAgain() {
        Pod first = pods.run(pods.sandbox("dhcp-db").putLabels("statefulset.kubernetes.io/pod-name", "dhcp-db-0"));
        String ip = first.status().getNetwork().getIp();
        assertTrue(ip.startsWith("192.168.77."), ip);
        first.stop();
        first.remove();

        Pod again = pods.run(pods.sandbox("dhcp-db").putLabels("statefulset.kubernetes.io/pod-name", "dhcp-db-0"));
        assertEquals(ip, again.status().getNetwork().getIp(), "same MAC, same address from the LAN");
        again.stop();
        again.remove();
    }

    @Test
    void theClientKeepsRunningAcrossADaemonRestart() {
        Pod pod = pods.run("dhcp-restart");
        String ip = pod.status().getNetwork().getIp();
        List<Long> before = dhcpClients(pod.id());
        assertEquals(1, before.size());

        daemon.restart();
        assertEquals(before, dhcpClients(pod.id()), "the running client is adopted, not replaced");
        assertEquals(ip, pod.status().getNetwork().getIp());
        var status = pods.runtime().status(StatusRequest.getDefaultInstance()).getStatus();
        assertTrue(status.getConditionsList().stream().anyMatch(c -> c.getType().equals("NetworkReady") && c.getStatus()));
        assertTrue(Wait.forValue("the LAN reaches the pod", LIMIT, () -> hostPings(ip), ok -> ok));
        pod.stop();
        pod.remove();
        assertEquals(List.of(), dhcpClients(pod.id()));
    }

    private static void deleteWork() {
        if (work == null) {
            return;
        }
        try (Stream<Path> paths = Files.walk(work)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            System.err.println("[e2e] cannot delete " + work + ": " + e);
        }
    }
}
