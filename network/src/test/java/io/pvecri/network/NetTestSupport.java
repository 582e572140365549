package io.pvecri.network;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** Per-test throwaway namespaces, state dir and helpers; everything is removed after each test. */
abstract class NetTestSupport {
    @TempDir
    Path tmp;
    Netnses ns;
    final List<PodNetworks> opened = new ArrayList<>();

    @BeforeEach
    void createNamespaces() throws IOException {
        ns = new Netnses();
    }

    @AfterEach
    void deleteNamespaces() throws IOException {
        opened.forEach(PodNetworks::close);
        killDhcpClients(); // safety net: a failed test may leave pods' DHCP clients (detached) running
        if (ns != null) {
            ns.close();
        }
    }

    /** Pids of the DHCP clients (udhcpc) the library started with this test's state dir. */
    List<Long> dhcpClients() throws IOException {
        String script = stateDir().toAbsolutePath().resolve(DhcpClient.SCRIPT).toString();
        List<Long> out = new ArrayList<>();
        try (var s = Files.list(Path.of("/proc"))) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String cmd = Files.readString(p.resolve("cmdline")).replace('\0', ' ');
                    if (cmd.startsWith("busybox udhcpc ") && cmd.contains(script)) {
                        out.add(Long.parseLong(name));
                    }
                } catch (IOException ignored) {
                    // gone meanwhile
                }
            }
        }
        return out;
    }

    void killDhcpClients() throws IOException {
        for (long pid : dhcpClients()) {
            ProcessHandle.of(pid).ifPresent(h -> {
                h.destroyForcibly();
                try {
                    h.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // reported by the next scan
                }
            });
        }
    }

    Path stateDir() {
        return tmp.resolve("state");
    }

    /** Bridge-mode config whose host side is the throwaway host netns. */
    NetworkConfig.Builder config() throws IOException {
        Path resolv = tmp.resolve("host-resolv.conf");
        Files.writeString(resolv, "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.test\noptions edns0\n");
        return NetworkConfig.builder()
                .hostNetns(ns.host())
                .bridge("pvctest0")
                .cidr("10.88.0.0/24")
                .dns(new NetworkConfig.DnsDefaults(null, null, null, resolv));
    }

    PodNetworks open(NetworkConfig cfg) throws NetworkException {
        PodNetworks n = PodNetworks.open(cfg, stateDir());
        opened.add(n);
        return n;
    }

    static String newPodId() {
        byte[] b = new byte[32];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    static PodNetworkRequest request(String podId, String name, Path netns) {
        return new PodNetworkRequest(podId, name, "default", "uid-" + name, Map.of(), Map.of(), netns, List.of(), null, null);
    }

    static PodNetworkRequest request(String podId, String name, Path netns, Map<String, String> labels,
                                     Map<String, String> annotations, List<PortMapping> ports) {
        return new PodNetworkRequest(podId, name, "default", "uid-" + name, labels, annotations, netns, ports, null, null);
    }

    /** Links in the host netns (one name per line). */
    String hostLinks() throws IOException {
        return Netnses.ok(ns.host(), "ip", "-o", "link", "show");
    }

    int hostLinkCount() throws IOException {
        return (int) hostLinks().lines().count();
    }

    /** Number of rules (lines with a verdict or statement) in the library's tables. */
    int nftRuleCount(String table) throws IOException {
        int n = 0;
        for (String fam : List.of("inet", "bridge")) {
            Exec.Result r = Netnses.in(ns.host(), "nft", "list", "table", fam, table);
            if (r.ok()) {
                n += (int) r.stdout().lines().filter(l -> l.contains("comment \"pod:")).count();
            }
        }
        return n;
    }

    String nftTable(String family, String table) throws IOException {
        Exec.Result r = Netnses.in(ns.host(), "nft", "list", "table", family, table);
        return r.ok() ? r.stdout() : "";
    }
}
