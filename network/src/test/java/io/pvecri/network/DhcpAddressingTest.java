package io.pvecri.network;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DHCP addressing against a real DHCP server: Debian's dnsmasq, run inside the throwaway host
 * netns on a "LAN" bridge the test makes there. Nothing leaves these namespaces.
 */
class DhcpAddressingTest extends NetTestSupport {
    private static final String LAN = "lan0";
    private static final String SILENT_LAN = "lan1";

    /**
     * Makes {@code name} in the host netns: a bridge with 192.168.77.1/24, as a LAN's router would
     * be. Its MAC is set, as on a real LAN bridge (Proxmox's vmbr0 has its uplink's): a bridge
     * whose MAC was never set takes the lowest MAC of its ports, and changes it as pods come and go.
     */
    private void lanBridge(String name) throws IOException {
        Netnses.ok(ns.host(), "ip", "link", "add", name, "address", name.equals(LAN) ? "02:00:00:77:00:01" : "02:00:00:77:00:02",
                "type", "bridge");
        Netnses.ok(ns.host(), "ip", "addr", "add", "192.168.77.1/24", "dev", name);
        Netnses.ok(ns.host(), "ip", "link", "set", name, "up");
    }

    private Path leases() {
        return tmp.resolve("dnsmasq.leases");
    }

    /** dnsmasq serving DHCP (no DNS) on the LAN bridge; killed with the namespaces. */
    private void dnsmasq() throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/dnsmasq")), "dnsmasq (dnsmasq-base) not installed");
        lanBridge(LAN);
        Files.writeString(leases(), "");
        ns.start(ns.host(), List.of("dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--interface=" + LAN, "--bind-interfaces",
                "--except-interface=lo", "--port=0", "--no-ping", "--log-dhcp",
                "--pid-file=" + tmp.resolve("dnsmasq.pid"), "--dhcp-leasefile=" + leases(),
                "--dhcp-range=192.168.77.50,192.168.77.99,255.255.255.0,2m",
                "--dhcp-option=option:router,192.168.77.1", "--dhcp-option=option:dns-server,192.168.77.53",
                "--dhcp-option=option:domain-name,lan.test"), tmp.resolve("dnsmasq.log"));
        await("dnsmasq listens on " + LAN, Duration.ofSeconds(5),
                () -> tmpText("dnsmasq.log").contains("DHCP, sockets bound"));
    }

    private NetworkConfig dhcpConfig(String bridge, Duration timeout, int retries) throws IOException {
        return config().addressing(NetworkConfig.Addressing.DHCP).bridge(bridge)
                .dhcp(new NetworkConfig.DhcpSettings(timeout, retries)).build();
    }

    private String tmpText(String name) {
        try {
            return Files.readString(tmp.resolve(name));
        } catch (IOException e) {
            return "";
        }
    }

    private static void await(String what, Duration limit, BooleanSupplier done) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (done.getAsBoolean()) {
                return;
            }
            Netnses.sleep(20);
        }
        assertTrue(done.getAsBoolean(), "timed out waiting for " + what);
    }

    private long clientPid(String podId) throws IOException {
        PodRecord r = Json.MAPPER.readValue(stateDir().resolve(podId).resolve(PodRecordStore.RECORD_FILE).toFile(), PodRecord.class);
        return r.dhcp().pid();
    }

    private DhcpClient.Lease lease(String podId) {
        return new DhcpClient(NetworkConfig.DhcpSettings.defaults(), stateDir(), Duration.ofSeconds(5)).readLease(podId);
    }

    @Test
    void podGetsAddressGatewayAndDnsFromTheLanAndReleasesItOnTeardown() throws Exception {
        dnsmasq();
        String lanBefore = Netnses.ok(ns.host(), "ip", "-4", "-o", "addr", "show", "dev", LAN);
        PodNetworks nets = open(dhcpConfig(LAN, Duration.ofSeconds(10), 3));
        assertTrue(nets.readiness().ready(), nets.readiness().toString());
        Path podNs = ns.pod("web");
        String id = newPodId();
        NetworkStatus s = nets.setUp(request(id, "web", podNs, Map.of(), Map.of(), List.of(PortMapping.tcp(80, 18080))));

        assertTrue(s.ip().startsWith("192.168.77."), s.toString());
        int last = Integer.parseInt(s.ip().substring("192.168.77.".length()));
        assertTrue(last >= 50 && last <= 99, s.ip());
        assertEquals("192.168.77.1", s.gateway());
        String resolv = Files.readString(s.resolvConf());
        assertTrue(resolv.contains("nameserver 192.168.77.53\n") && resolv.contains("search lan.test\n"), resolv);
        assertTrue(Files.readString(s.hostsFile()).contains(s.ip() + "\tweb"));
        // the client applied the lease inside the pod
        assertTrue(Netnses.ok(podNs, "ip", "-4", "addr", "show", "dev", "eth0").contains("inet " + s.ip() + "/24"));
        assertTrue(Netnses.ok(podNs, "ip", "route", "show", "default").contains("via 192.168.77.1 dev eth0"));
        assertTrue(Netnses.ping(podNs, "192.168.77.1"), "pod reaches the LAN");
        assertTrue(Netnses.ping(ns.host(), s.ip()), "the LAN reaches the pod");
        String dnsmasqLeases = Files.readString(leases());
        assertTrue(dnsmasqLeases.contains(s.mac() + " " + s.ip() + " web"), dnsmasqLeases);
        assertEquals(List.of(), nets.check(id));
        // the LAN bridge is not pve-cri's: no address, masquerade or hostPort rule for it
        assertEquals(lanBefore, Netnses.ok(ns.host(), "ip", "-4", "-o", "addr", "show", "dev", LAN));
        String inet = nftTable("inet", "pvecri");
        assertFalse(inet.contains("masquerade") || inet.contains("dnat"), inet);
        assertTrue(nftTable("bridge", "pvecri").contains("ether saddr != " + s.mac()), "MAC filter on the pod port");

        // renewal: the client renews at T1 on its own; SIGUSR1 makes it renew now
        long pid = clientPid(id);
        long before = lease(id).time();
        Netnses.sleep(1100);
        assertTrue(Exec.run(List.of("busybox", "kill", "-USR1", String.valueOf(pid)), null, null, Netnses.TIMEOUT).ok());
        await("a renewed lease", Duration.ofSeconds(5), () -> {
            DhcpClient.Lease l = lease(id);
            return l != null && l.state().equals("renew") && l.time() > before;
        });
        assertEquals(s.ip(), lease(id).ip());

        // a pod whose own DNS config is set keeps it
        Path other = ns.pod("dns");
        String otherId = newPodId();
        NetworkStatus o = nets.setUp(new PodNetworkRequest(otherId, "dns", "default", "u", Map.of(), Map.of(), other, List.of(),
                new DnsConfig(List.of("10.96.0.10"), List.of("cluster.local"), List.of()), null));
        assertNotEquals(s.ip(), o.ip());
        assertTrue(Files.readString(o.resolvConf()).contains("nameserver 10.96.0.10\n"));
        assertTrue(Netnses.ping(other, s.ip()), "pods on the LAN reach each other");

        assertEquals(List.of(), nets.tearDown(id));
        assertEquals(List.of(), nets.tearDown(otherId));
        await("dnsmasq forgets the released leases", Duration.ofSeconds(5), () -> !tmpTextOf(leases()).contains(s.mac())
                && !tmpTextOf(leases()).contains(o.mac()));
        assertEquals(List.of(), dhcpClients());
        assertFalse(hostLinks().contains("pvc"), hostLinks());
        assertEquals(lanBefore, Netnses.ok(ns.host(), "ip", "-4", "-o", "addr", "show", "dev", LAN), "the LAN bridge stays as it was");
        assertFalse(Files.exists(stateDir().resolve(id)));
        assertEquals(0, nftRuleCount("pvecri"));
    }

    private static String tmpTextOf(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            return "";
        }
    }

    @Test
    void statefulSetPodGetsTheSameAddressAgain() throws Exception {
        dnsmasq();
        PodNetworks nets = open(dhcpConfig(LAN, Duration.ofSeconds(10), 3));
        Map<String, String> sts = Map.of(PodNetworkRequest.STATEFULSET_POD_NAME_LABEL, "db-0");
        Path first = ns.pod("db1");
        String id1 = newPodId();
        NetworkStatus s1 = nets.setUp(request(id1, "db-0", first, sts, Map.of(), List.of()));
        assertEquals(MacAddresses.stable("default/db-0"), s1.mac());
        assertEquals(List.of(), nets.tearDown(id1));

        Path second = ns.pod("db2");
        String id2 = newPodId();
        NetworkStatus s2 = nets.setUp(request(id2, "db-0", second, sts, Map.of(), List.of()));
        assertEquals(s1.mac(), s2.mac());
        assertEquals(s1.ip(), s2.ip(), "same MAC, same address from the LAN's DHCP server");
        assertEquals(List.of(), nets.tearDown(id2));
    }

    @Test
    void silentServerFailsWithAClearErrorAndLeavesNothing() throws Exception {
        lanBridge(SILENT_LAN); // no DHCP server on it
        PodNetworks nets = open(dhcpConfig(SILENT_LAN, Duration.ofSeconds(2), 1));
        Path podNs = ns.pod("lost");
        String id = newPodId();
        int links = hostLinkCount();
        long t0 = System.nanoTime();
        NetworkException.SetupFailed e = assertThrows(NetworkException.SetupFailed.class,
                () -> nets.setUp(request(id, "lost", podNs, Map.of(PodNetworkRequest.STATEFULSET_POD_NAME_LABEL, "lost-0"),
                        Map.of(), List.of())));
        long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
        assertTrue(ms < 8000, "bounded by dhcp.timeout: " + ms + " ms");
        String m = e.getMessage();
        assertTrue(m.contains("no DHCP lease") && m.contains("bridge " + SILENT_LAN) && m.contains(MacAddresses.stable("default/lost-0"))
                && m.contains("within 2s") && m.contains("2 DHCPDISCOVERs"), m);
        assertEquals(List.of(), dhcpClients(), "no DHCP client left");
        assertEquals(links, hostLinkCount(), "no veth left: " + hostLinks());
        assertTrue(nets.status(id).isEmpty());
        assertEquals(Set.of(), nets.podIds());
        assertFalse(Files.exists(stateDir().resolve(id)));
        assertEquals(0, nftRuleCount("pvecri"));

        // a bridge that does not exist: a clear error, and the node reports the network not ready
        PodNetworks missing = open(dhcpConfig("nosuchbr0", Duration.ofSeconds(2), 1));
        assertEquals("NetworkBridgeMissing", missing.readiness().reason());
        NetworkException.SetupFailed e2 = assertThrows(NetworkException.SetupFailed.class,
                () -> missing.setUp(request(newPodId(), "x", podNs)));
        assertTrue(e2.getMessage().contains("nosuchbr0 does not exist"), e2.getMessage());
        assertEquals(links, hostLinkCount());
    }

    @Test
    void restartAdoptsRunningClientsRestartsDeadOnesAndSupervises() throws Exception {
        dnsmasq();
        NetworkConfig cfg = dhcpConfig(LAN, Duration.ofSeconds(10), 3);
        PodNetworks first = open(cfg);
        Path nsA = ns.pod("a");
        Path nsB = ns.pod("b");
        String a = newPodId();
        String b = newPodId();
        NetworkStatus sa = first.setUp(request(a, "a", nsA));
        NetworkStatus sb = first.setUp(request(b, "b", nsB));
        long pidA = clientPid(a);
        long pidB = clientPid(b);
        first.close();
        assertTrue(ProcessHandle.of(pidA).map(ProcessHandle::isAlive).orElse(false), "clients outlive close()");

        // b's client dies while "the daemon" is down
        ProcessHandle.of(pidB).orElseThrow().destroyForcibly();
        await("b's client gone", Duration.ofSeconds(5), () -> ProcessHandle.of(pidB).map(h -> !h.isAlive()).orElse(true));

        PodNetworks second = open(cfg);
        assertEquals(sa, second.status(a).orElseThrow());
        assertEquals(List.of(), second.reconcile(Set.of(a, b)));
        assertEquals(pidA, clientPid(a), "a's running client adopted");
        long newB = clientPid(b);
        assertNotEquals(pidB, newB, "b's client started again");
        await("b leased again", Duration.ofSeconds(10), () -> {
            DhcpClient.Lease l = lease(b);
            return l != null && l.bound();
        });
        assertEquals(sb.ip(), lease(b).ip(), "asked for and got its address back");
        assertEquals(Set.of(pidA, newB), Set.copyOf(dhcpClients()));

        // supervision: a client that dies is started again
        ProcessHandle.of(pidA).orElseThrow().destroyForcibly();
        await("a's client restarted", Duration.ofSeconds(15), () -> {
            try {
                long p = clientPid(a);
                DhcpClient.Lease l = lease(a);
                return p != pidA && ProcessHandle.of(p).isPresent() && l != null && l.bound();
            } catch (IOException e) {
                return false;
            }
        });
        assertEquals(sa.ip(), lease(a).ip());
        assertTrue(Netnses.ping(nsA, "192.168.77.1"));
        second.close();

        PodNetworks third = open(cfg);
        assertEquals(List.of(), third.reconcile(Set.of()));
        assertEquals(List.of(), dhcpClients());
        await("dnsmasq forgets the released leases: " + sa.mac() + " " + sb.mac(), Duration.ofSeconds(5),
                () -> !tmpTextOf(leases()).contains(sa.mac()) && !tmpTextOf(leases()).contains(sb.mac()));
        assertFalse(hostLinks().contains("pvc"), hostLinks());
    }
}
